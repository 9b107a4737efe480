// `npm run bench -- sd15 [--image-size 256] --json <file>`: issue 12's CPU measurement at
// Stable Diffusion 1.5's size. Ours: SD1.5's UNet as `hyperbooth pack` makes it (the project's
// builders, SD1.5's config, LoRA slots on the 128 attention projections, attention split over
// query blocks, the train-step graph of the fine-tune), random float32 weights
// (lib/randomWeights.ts), on onnxruntime-node CPU. PyTorch: Debian's torch on the same module
// (tools/bench/sd15_torch.py: make_sd_fixtures.py's SD15_UNET) with rank-4 LoRA on the same
// projections. Batch 1, same thread count, each measurement in a fresh process, run one after
// the other (SD1.5 at 512 px takes more than 10 GB per side on a CPU). Printed, not asserted.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { freemem, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from '../args';
import { buildUnetTrainModel } from '../../src/finetune/trainGraphs';
import { buildUNet } from '../../src/models';
import { OPSET } from '../../src/models/tinyPack';
import type { ModelProto } from '../../src/onnx';
import { loadModelFile } from '../../src/onnx/fs';
import { chunkAttention, chunkRecomputeSegments } from '../../src/packer/attentionChunks';
import { SHAPES_ONLY, sd15Unet } from '../../src/packer/sd15Shapes';
import { holdWeightsOnce } from '../../src/packer/weightsOnce';
import { inputSpecs, measureInChild, type Measurement } from './lib/measureSession';
import { writeWithRandomWeights } from './lib/randomWeights';
import { WEIGHTS_ONCE_CPU_CONFIG } from '../../src/runtime/sessionOptions';

export const summary = 'SD1.5-sized UNet forward and fine-tune step on onnxruntime-node CPU vs PyTorch (time, peak RSS)';

const USAGE = `usage: npm run bench -- sd15 [--image-size 256] [--iters 3] [--threads 2] [--rank 4]
       [--recompute auto|none] [--cache DIR] [--json <file>] [--no-torch] [--no-prepack]
       [--build-only | --reuse] [--mmap-threshold BYTES] [--weights-once]
  --no-prepack  onnxruntime's pre-packed GEMM copies of the weights off (ours)
  --build-only  write the graphs (and their random weights) under --cache and stop: the writing
                needs little memory, so it can run outside the big-job lock
  --reuse       measure the graphs already under --cache instead of building them
  --weights-once  the step's session with WEIGHTS_ONCE_CPU_CONFIG (src/runtime/sessionOptions.ts:
                no NCHWc re-layouts, no pre-packed copies), so it holds each weight once
  --mmap-threshold  glibc's MALLOC_MMAP_THRESHOLD_ for both sides' measuring processes (e.g. 65536;
                see npm run bench -- grad --help)
  --image-size  multiple of 64 (default 256; 512 needs > 10 GB free per side)
  --recompute   the train graph recomputes every block (auto, hyperbooth pack's default from 256 px)
                or only the attention blocks (none); default: as the pack at that size
  --json        writes {"imageSize", "ours": {"forwardMs", "stepMs", "stepPeakRssBytes"},
                "pytorch": {"forwardMs", "stepMs", "stepPeakRssBytes"}}`;

const PYTHON = '/usr/bin/python3';
const SCRIPT = 'tools/bench/sd15_torch.py';

export interface Sd15Side { forwardMs: number; stepMs: number; stepPeakRssBytes: number }
export interface Sd15Result { imageSize: number; ours: Sd15Side; pytorch: Sd15Side | null }

interface TorchRun { median_ms: number; cpu_median_ms?: number; peak_rss_bytes: number; lora_layers: number; torch: string; blas: string }

function torchRun(mode: 'forward' | 'step', imageSize: number, iters: number, threads: number, env: Record<string, string>): Promise<TorchRun> {
  return new Promise((ok, fail) => {
    const child = spawn(PYTHON, [SCRIPT, mode, '--image-size', String(imageSize), '--iters', String(iters), '--threads', String(threads)], {
      env: { ...process.env, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? 'SkylakeX', OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok(JSON.parse(out.trim().split('\n').pop()!) as TorchRun) : fail(new Error(`${SCRIPT} ${mode} failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`))));
  });
}

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** `value` against `limit`, as the issue states its targets. */
export function verdict(value: number, limit: number): string {
  return `${value.toFixed(2)}x  (target <= ${limit}x: ${value <= limit ? 'met' : 'NOT met'})`;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['no-torch', 'no-prepack', 'build-only', 'reuse', 'weights-once', 'help']);
  const once = !!a.flags['weights-once'];
  const prepack = !a.flags['no-prepack'];
  const mt = a.flags['mmap-threshold'];
  if (mt !== undefined && !/^\d+$/.test(String(mt))) { console.error(`--mmap-threshold: a byte count\n\n${USAGE}`); return 2; }
  const mallocEnv: Record<string, string> = typeof mt === 'string' ? { MALLOC_MMAP_THRESHOLD_: mt } : {};
  if (a.flags.help) { console.log(USAGE); return 0; }
  const imageSize = Number(a.flags['image-size'] ?? 256);
  if (!Number.isInteger(imageSize) || imageSize % 64 !== 0) { console.error(`--image-size ${imageSize}: a multiple of 64\n\n${USAGE}`); return 2; }
  const iters = Number(a.flags.iters ?? 3);
  const threads = Number(a.flags.threads ?? 2);
  const rank = Number(a.flags.rank ?? 4);
  const latent = imageSize / 8;
  const recompute = String(a.flags.recompute ?? (latent >= 32 ? 'auto' : 'none'));
  if (recompute !== 'auto' && recompute !== 'none') { console.error(`--recompute auto|none\n\n${USAGE}`); return 2; }
  const cache = resolve(String(a.flags.cache ?? '.bench'), `sd15-${imageSize}`);
  mkdirSync(cache, { recursive: true });
  const load0 = loadavg()[0];
  console.error(`memory: ${gb(freemem())} free of ${gb(totalmem())}; load average ${load0.toFixed(1)}`);

  const paths = [join(cache, 'unet.onnx'), join(cache, 'unet.train.onnx')];
  let forward: ModelProto, train: ModelProto;
  if (a.flags.reuse) {
    const missing = paths.filter((p) => !existsSync(p));
    if (missing.length) { console.error(`--reuse: ${missing.join(', ')} not found (write them with --build-only)`); return 2; }
    [forward, train] = paths.map((p) => loadModelFile(p).model);
    console.error(`reusing ${paths.join(', ')}`);
  } else {
    console.error(`building SD1.5's UNet at ${imageSize} px and its train-step graph (recompute ${recompute})…`);
    const t0 = performance.now();
    const built = buildUNet(sd15Unet(latent), { seed: 0, weights: SHAPES_ONLY }).builder.toModel({ opset: OPSET });
    // as hyperbooth pack: attention whose scores at CFG batch 2 exceed 64 MiB split over query blocks
    forward = chunkAttention(built, { maxScoreBytes: 64 * 2 ** 20, dims: { batch: 2, lora_rank: rank } }).model;
    const segments = chunkRecomputeSegments(forward);
    // as hyperbooth pack (src/packer/packParts.ts): weights held once, ConvTranspose for a Conv's input gradient
    train = holdWeightsOnce(buildUnetTrainModel(forward, undefined, { convInputGradient: 'conv-transpose', ...(recompute === 'auto' ? { recompute: 'auto' as const } : segments.length ? { recompute: segments } : {}) })).model;
    writeWithRandomWeights([forward, train], paths);
    console.error(`  built and written in ${s(performance.now() - t0)} (${paths.join(', ')})`);
    if (a.flags['build-only']) return 0;
  }

  const dims = { batch: 1, lora_rank: rank };
  const slots = train.graph!.output!.map((o) => o.name!).filter((n) => n.endsWith('_grad'));
  console.error(`measuring ours (${iters} runs after a warm-up, ${threads} threads, a fresh process each)…`);
  const fwd: Measurement = await measureInChild(paths[0], { threads, iters, prepack, env: mallocEnv, inputs: inputSpecs(forward, dims), outputs: ['out_sample'] });
  console.error(`  forward ${s(fwd.medianMs)}, peak RSS ${fwd.peakRssMb.toFixed(0)} MB`);
  const step: Measurement = await measureInChild(paths[1], { threads, iters, prepack, env: mallocEnv, ...(once ? { config: WEIGHTS_ONCE_CPU_CONFIG } : {}), inputs: inputSpecs(train, dims), outputs: ['loss', ...slots] });
  console.error(`  step ${s(step.medianMs)}, peak RSS ${step.peakRssMb.toFixed(0)} MB`);
  const ours: Sd15Side = { forwardMs: fwd.medianMs, stepMs: step.medianMs, stepPeakRssBytes: Math.round(step.peakRssMb * 2 ** 20) };

  let pytorch: Sd15Side | null = null;
  let torchCpu: { forward: number; step: number } | null = null;
  let torchInfo = '';
  if (!a.flags['no-torch']) {
    console.error('measuring PyTorch (one process per mode, after ours)…');
    const f = await torchRun('forward', imageSize, iters, threads, mallocEnv);
    console.error(`  forward ${s(f.median_ms)}`);
    const st = await torchRun('step', imageSize, iters, threads, mallocEnv);
    console.error(`  step ${s(st.median_ms)}, peak RSS ${(st.peak_rss_bytes / 2 ** 20).toFixed(0)} MB`);
    pytorch = { forwardMs: f.median_ms, stepMs: st.median_ms, stepPeakRssBytes: st.peak_rss_bytes };
    if (f.cpu_median_ms && st.cpu_median_ms) torchCpu = { forward: f.cpu_median_ms, step: st.cpu_median_ms };
    torchInfo = `PyTorch ${st.torch}, ${st.lora_layers} LoRA layers, BLAS ${st.blas}`;
  }

  const result: Sd15Result = { imageSize, ours, pytorch };
  console.log(`\nsd15 benchmark at ${imageSize} px, batch 1, ${threads} threads, median of ${iters}; train graph recompute ${recompute}, onnxruntime pre-packing ${prepack ? 'on' : 'off'}${mt ? `, MALLOC_MMAP_THRESHOLD_=${mt} (both sides)` : ''}${once ? '; step session: weights once' : ''}; load average at start ${load0.toFixed(1)}`);
  console.log(`${slots.length - 1} slot gradients + ∂loss/∂c (ours); ${torchInfo || 'PyTorch skipped (--no-torch)'}\n`);
  const rows: string[][] = [['', 'forward', 'step', 'step peak RSS']];
  rows.push(['ours (onnxruntime-node CPU, float32)', s(ours.forwardMs), s(ours.stepMs), gb(ours.stepPeakRssBytes)]);
  if (pytorch) rows.push(['PyTorch (autograd, float32)', s(pytorch.forwardMs), s(pytorch.stepMs), gb(pytorch.stepPeakRssBytes)]);
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('   '));
  console.log('');
  if (pytorch) {
    console.log(`step peak / PyTorch's   ${verdict(ours.stepPeakRssBytes / pytorch.stepPeakRssBytes, 1.0)}`);
    console.log(`step time / PyTorch's   ${verdict(ours.stepMs / pytorch.stepMs, 1.0)}`);
  }
  console.log(`step / our forward      ${verdict(ours.stepMs / ours.forwardMs, 2.5)}`);
  // wall time swings with a shared machine's load; CPU time (all threads) much less so
  console.log(`in CPU time: ours forward ${s(fwd.cpuMedianMs)}, step ${s(step.cpuMedianMs)}${torchCpu ? `; PyTorch forward ${s(torchCpu.forward)}, step ${s(torchCpu.step)}; step / PyTorch's ${(step.cpuMedianMs / torchCpu.step).toFixed(2)}x` : ''}; step / our forward ${(step.cpuMedianMs / fwd.cpuMedianMs).toFixed(2)}x`);
  if (typeof a.flags.json === 'string') {
    writeFileSync(a.flags.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${a.flags.json}`);
  }
  return 0;
}
