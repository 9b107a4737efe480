// `hyperbooth inspect <pack dir | sd15> --memory …`: the memory report of src/packer/memoryReport.ts.
// `sd15` builds Stable Diffusion 1.5's graphs at the image size without their weights.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, UsageError } from '../args';
import { loadModelFile } from '../../src/onnx/fs';
import type { PackManifest } from '../../src/packs/manifest';
import { MemoryReportError } from '../../src/packer/memory';
import { formatMemoryReport, memoryReport, type PackGeometry, type PackGraphs } from '../../src/packer/memoryReport';
import { sd15ShapeGraphs } from '../../src/packer/sd15Shapes';
import { RECOMPUTE_FROM_LATENT } from '../../src/packer/packParts';

export const summary = 'memory report of a pack: inspect <pack dir | sd15> --memory [--image-size N] [--dtype float16|float32] [--json file]';

const USAGE = `usage: hyperbooth inspect <pack dir | sd15> --memory [--image-size N] [--dtype float16|float32]
                         [--ep webgpu|cpu] [--rank R] [--attention-chunk-mib M] [--json <file>]
  <pack dir>   a pack folder (manifest.json); sd15: Stable Diffusion 1.5's graphs built without weights
  --memory     per graph: weights, peak live bytes (weights included) along onnxruntime's node order,
               largest tensor; generate = one UNet call at CFG batch 2, fineTuneStep = the train graphs at batch 1
  --image-size image side in pixels (default: the pack's; sd15: 512)
  --dtype      a pack folder: count every float tensor at this width (default: each tensor's own dtype);
               sd15: float16 builds the graphs as hyperbooth pack --fp16 does (float16 weights and
               compute, float32 where kept), float32 (default) as a float32 pack
  --ep         whose weight copies to count: webgpu (default) or cpu (adds the CPU EP's NCHWc re-layouts)
  --rank       LoRA rank of the slots (default: the pack's fine-tune rank; sd15: 4)
  --attention-chunk-mib  sd15: split attention whose CFG-batch scores exceed this over query blocks (default 64)
  --recompute auto|none  sd15: the train graph recomputes every Transformer/ResNet block (as pack --recompute;
                         default auto from 256 px, as hyperbooth pack)`;

function packGraphs(dir: string): { graphs: PackGraphs; manifest: PackManifest } {
  let manifest: PackManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PackManifest;
  } catch (e) {
    throw new UsageError(`${dir} is not a pack folder (no readable manifest.json): ${(e as Error).message}`);
  }
  const load = (file: string) => loadModelFile(join(dir, file)).model;
  const m = manifest.models;
  return {
    manifest,
    graphs: {
      unet: load(m.unet.file), textEncoder: load(m.textEncoder.file), vaeEncoder: load(m.vaeEncoder.file), vaeDecoder: load(m.vaeDecoder.file),
      ...(manifest.train ? { unetTrain: load(manifest.train.unet.file) } : {}),
      ...(manifest.train?.textEncoder ? { textEncoderGrad: load(manifest.train.textEncoder.file) } : {}),
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['memory', 'help']);
  if (a.flags.help) { console.log(USAGE); return 0; }
  try {
    const [target] = a.positional;
    if (!target || !a.flags.memory) throw new UsageError('inspect needs a pack folder (or sd15) and --memory');
    const dtype = a.flags.dtype;
    if (dtype !== undefined && dtype !== 'float16' && dtype !== 'float32') throw new UsageError(`--dtype is float16 or float32, not ${String(dtype)}`);
    const ep = a.flags.ep ?? 'webgpu';
    if (ep !== 'webgpu' && ep !== 'cpu') throw new UsageError(`--ep is webgpu or cpu, not ${String(ep)}`);
    const num = (name: string) => {
      const v = a.flags[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) === 0) throw new UsageError(`--${name} expects a positive integer, got ${String(v)}`);
      return Number(v);
    };
    let graphs: PackGraphs;
    let geo: PackGeometry;
    if (target === 'sd15') {
      const imageSize = num('image-size') ?? 512;
      if (imageSize % 64 !== 0) throw new UsageError(`--image-size ${imageSize}: SD1.5 needs a multiple of 64 (8 × three halvings of the latent)`);
      const rank = num('rank') ?? 4;
      const maxScoreBytes = (num('attention-chunk-mib') ?? 64) * 2 ** 20;
      console.error(`building SD1.5's graphs at ${imageSize} px without weights (train step graph included)…`);
      const recompute = a.flags.recompute ?? (imageSize / 8 >= RECOMPUTE_FROM_LATENT ? 'auto' : 'none');
      if (recompute !== 'none' && recompute !== 'auto') throw new UsageError(`--recompute takes auto or none, not ${String(recompute)}`);
      // --dtype float16: the graphs a --fp16 pack holds, each tensor counted in its own dtype
      graphs = sd15ShapeGraphs({ imageSize, rank, attention: { maxScoreBytes }, ...(recompute === 'auto' ? { recompute } : {}), ...(dtype === 'float16' ? { fp16: true } : {}) });
      console.error(`train graph: ${recompute === 'auto' ? 'recomputes every block (as hyperbooth pack does from 256 px; --recompute none to keep them)' : 'recomputes the attention blocks only'}`);
      geo = { imageSize, vaeScale: 8, textLength: 77, rank, latentChannels: 4, textWidth: 768 };
    } else {
      const dir = resolve(target);
      const pack = packGraphs(dir);
      graphs = pack.graphs;
      const m = pack.manifest;
      geo = { imageSize: num('image-size') ?? m.image.width, vaeScale: m.image.width / m.latent.width, textLength: m.text.maxLength, rank: num('rank') ?? m.train?.defaults.rank ?? 4, latentChannels: m.latent.channels, textWidth: m.text.hiddenSize };
    }
    const report = memoryReport(graphs, geo, { ep, ...(dtype && target !== 'sd15' ? { floatDtype: dtype } : {}) });
    for (const line of formatMemoryReport(report)) console.log(line);
    if (typeof a.flags.json === 'string') {
      writeFileSync(a.flags.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`wrote ${a.flags.json}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof MemoryReportError) {
      console.error(`inspect: ${e.message}${e instanceof UsageError ? `\n\n${USAGE}` : ''}`);
      return 2;
    }
    throw e;
  }
}
