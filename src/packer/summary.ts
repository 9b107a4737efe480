// The summary `hyperbooth pack` prints: per part the LoRA layers found, the parameters, the
// files and their sizes and the ops the WebGPU EP lacks; then the warnings.
import { formatMemoryReport } from './memoryReport';
import type { PackResult } from './pack';

const mib = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n));

export function formatSummary(r: PackResult): string {
  const m = r.manifest;
  const lines: string[] = [];
  lines.push(`pack "${m.id}" → ${r.dir} in ${(r.ms / 1000).toFixed(1)} s`);
  lines.push(`  image ${m.image.width}×${m.image.height}, latent ${m.latent.channels}×${m.latent.height}×${m.latent.width}, text ${m.text.maxLength} tokens × ${m.text.hiddenSize} (input_ids ${m.text.inputDtype}), timestep ${m.unet.timestepDtype} ${m.unet.timestepShape === 'batch' ? '[batch]' : 'scalar'}`);
  lines.push(`  weights ${m.conversion.weights}, chunks ≤ ${mib(m.conversion.chunkBytes)}`);
  if (m.precision) {
    const byDtype = (d: string) => Object.entries(m.precision!.compute).filter(([, v]) => v === d).map(([k]) => k);
    const f16 = byDtype('float16');
    const f32 = byDtype('float32');
    const train = m.precision.compute.train === 'float16' ? ', the train graphs with a static loss scale' : '';
    lines.push(`  compute: ${[
      f16.length ? `float16 ${f16.join(', ')} (float32 inputs/outputs, normalizations and timestep embedding${train})` : '',
      f32.length ? `float32 ${f32.join(', ')}${f16.length ? ' (float16 weights cast to float32)' : ''}` : '',
    ].filter(Boolean).join('; ')}`);
  }
  for (const p of r.parts) {
    const layers = p.layers !== undefined ? `, ${p.countCheck?.message ?? `${p.layers} LoRA layers`}` : '';
    lines.push(`  ${p.part}: ${p.source} (${p.storage}), ${count(p.parameters)} parameters${layers}, ${(p.ms / 1000).toFixed(1)} s`);
    for (const f of p.files) lines.push(`    ${f.path.padEnd(30)} ${mib(f.size).padStart(11)}`);
    if (p.lackingOps.size) lines.push(`    ops the WebGPU EP lacks (run on the CPU EP): ${[...p.lackingOps].map(([op, k]) => `${op} ×${k}`).join(', ')}`);
  }
  const layers = m.lora.layers;
  const te = layers.filter((l) => l.target === 'text_encoder').length;
  lines.push(`  LoRA: ${layers.length} layers (unet ${layers.length - te}, text_encoder ${te}); LiDB aux ${m.lidb!.aux} (seed ${m.lidb!.auxSeed}, a ≤ ${m.lidb!.aMax}, b ≤ ${m.lidb!.bMax})`);
  lines.push(`  fine-tune: ${[m.train!.unet.file, ...(m.train!.textEncoder ? [m.train!.textEncoder.file] : [])].join(', ')}; defaults ${JSON.stringify(m.train!.defaults)}`);
  if (m.hypernet) lines.push(`  hypernetwork ${m.hypernet.model.file}: ${m.hypernet.imageSize}×${m.hypernet.imageSize} crop`);
  lines.push(`  total ${mib(r.totalBytes)} in ${m.files.length + 1} files`);
  if (m.conversion.attentionChunks) lines.push(`  attention: ${m.conversion.attentionChunks.attentions} UNet attentions split over query blocks (score tensors ≤ ${mib(m.conversion.attentionChunks.maxScoreBytes)} at CFG batch 2)`);
  if (r.memory) for (const l of formatMemoryReport(r.memory)) lines.push(`  ${l}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
