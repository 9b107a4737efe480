// `npm run bench -- grad`: the issue-3 benchmark. One network, a diffusers-style UNet defined in
// PyTorch (tools/fixtures/make_bench_unet.py: channels 128/256/256, a Transformer2D per level,
// cross-attention width 768, 32x32 latents, batch 1) exported with torch.onnx; rank-4 LoRA slots
// on every attention projection (src/onnx/lora.ts); our gradient graph w.r.t. all slots on
// onnxruntime-node CPU, against (a) the same graph's forward on the same runtime and (b) PyTorch
// 1.13 autograd (forward + backward w.r.t. the same adapters). Both sides on 2 threads, median
// of 5 after a warm-up, each measurement in a fresh process (peak RSS = that process's high-water
// mark). Printed, not asserted.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from '../args';
import { buildGradientModel } from '../../src/autodiff';
import { type ModelProto } from '../../src/onnx';
import { loadModelFile, saveModelFile } from '../../src/onnx/fs';
import { insertLoraSlots } from '../../src/onnx/lora';
import { buildUNet, type UNetConfig } from '../../src/models';
import { holdWeightsOnce } from '../../src/packer/weightsOnce';
import { WEIGHTS_ONCE_CPU_CONFIG } from '../../src/runtime/sessionOptions';
import { inputSpecs, measureInChild, type Measurement } from './lib/measureSession';

export const summary = 'gradient graph of a diffusers-style UNet w.r.t. LoRA slots: time and peak memory vs its forward and vs PyTorch';

const USAGE = `usage: npm run bench -- grad [--iters 5] [--threads 2] [--rank 4] [--cache .bench]
       [--no-torch] [--no-recompute] [--no-arena] [--spin] [--rebuild] [--mmap-threshold BYTES]
       [--weights-once] [--flipped-conv]
  --no-arena   onnxruntime's CPU memory arena off for our measurements (default: on, as the app runs)
  --spin       let idle threads spin-wait on both sides (onnxruntime's and OpenMP's default). The
               default here is passive waiting on both sides: on a shared, loaded machine spinning
               threads fight the ones doing the work (measured here at load 11: PyTorch forward
               5.7 s spinning vs 0.77 s passive)
  --weights-once  the step graphs as a pack's train graph (src/packer/weightsOnce.ts) and their
               sessions with WEIGHTS_ONCE_CPU_CONFIG (src/runtime/sessionOptions.ts): each weight held
               once; the forward runs as generation runs it
  --flipped-conv  convInputGradient 'flipped-conv' in the step graphs (src/autodiff/gradient.ts):
               a stride-1 Conv's input gradient as a Conv with a flipped kernel, not ConvTranspose
  --mmap-threshold  glibc's MALLOC_MMAP_THRESHOLD_ for both sides' processes (e.g. 65536): a fixed
               threshold stops glibc from raising it after the first large free, so the copies
               onnxruntime makes and drops while it creates a session go back to the system instead
               of staying as holes in the heap (src/autodiff/README.md)`;

const PYTHON = '/usr/bin/python3';
const SCRIPT = 'tools/fixtures/make_bench_unet.py';

/** The same network as make_bench_unet.py, built in TypeScript when PyTorch is not installed. */
export const BENCH_UNET: UNetConfig = {
  sampleSize: 32, inChannels: 4, outChannels: 4, blockOutChannels: [128, 256, 256], layersPerBlock: 1,
  crossAttentionDim: 768, textLength: 77, attentionHeadDim: 32, normGroups: 32,
  resnetEps: 1e-5, transformerNormEps: 1e-6, layerNormEps: 1e-5,
};

interface TorchSide { forward: TorchMeasurement; step: TorchMeasurement }
interface TorchMeasurement { median_ms: number; times_ms: number[]; peak_rss_mb: number; lora_layers: number; lora_parameters: number; torch: string; openblas_coretype: string; blas: string }

function hasTorch(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;
}

const newerThan = (file: string, sources: string[]) =>
  existsSync(file) && sources.every((s) => statSync(file).mtimeMs >= statSync(s).mtimeMs);

function runPython(args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(PYTHON, [SCRIPT, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`${SCRIPT} ${args[0]} failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`))));
  });
}

async function networkModel(cache: string, torch: boolean, rebuild: boolean): Promise<{ model: ModelProto; source: string }> {
  const path = join(cache, 'bench_unet.onnx');
  if (torch) {
    if (rebuild || !newerThan(path, [SCRIPT, 'tools/fixtures/make_grad_fixtures.py'])) {
      console.error(`exporting the benchmark UNet with torch.onnx -> ${path}`);
      await runPython(['export', '--out', path]);
    }
    return { model: loadModelFile(path).model, source: `torch.onnx export (${SCRIPT})` };
  }
  if (existsSync(path)) return { model: loadModelFile(path).model, source: `cached torch.onnx export ${path}` };
  return { model: buildUNet(BENCH_UNET, { seed: 0, loraSlots: false }).builder.toModel({ opset: 17 }), source: 'src/models buildUNet, the same architecture in TypeScript (no torch.onnx export available)' };
}

const mb = (x: number) => `${x.toFixed(0)} MB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const ratio = (a: number, b: number) => a / b;

function verdict(value: number, limit: number): string {
  return `${value.toFixed(2)}x  (target <= ${limit}x: ${value <= limit ? 'met' : 'NOT met'})`;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['no-torch', 'no-recompute', 'no-arena', 'spin', 'rebuild', 'weights-once', 'flipped-conv', 'help']);
  const once = !!a.flags['weights-once'];
  const flipped = !!a.flags['flipped-conv'];
  if (once && flipped) { console.error(`--weights-once holds each weight once: a flipped kernel would be flipped again on every step (use one of the two)\n\n${USAGE}`); return 2; }
  if (a.flags['mmap-threshold'] !== undefined && !/^\d+$/.test(String(a.flags['mmap-threshold']))) { console.error(`--mmap-threshold: a byte count\n\n${USAGE}`); return 2; }
  if (a.flags.help) { console.log(USAGE); return 0; }
  const iters = Number(a.flags.iters ?? 5);
  const threads = Number(a.flags.threads ?? 2);
  const rank = Number(a.flags.rank ?? 4);
  const cache = resolve(String(a.flags.cache ?? '.bench'));
  mkdirSync(cache, { recursive: true });
  const torch = !a.flags['no-torch'] && hasTorch();
  const load0 = loadavg()[0];

  const { model: net, source } = await networkModel(cache, torch, !!a.flags.rebuild);
  const { model: withSlots, layers } = insertLoraSlots(net);
  if (layers.length === 0) throw new Error('no attention projections found for LoRA slots');
  const wrt = layers.flatMap((l) => [`lora.${l.name}.down`, `lora.${l.name}.up`]);
  const forwardPath = join(cache, 'bench_unet.lora.onnx');
  saveModelFile(forwardPath, withSlots);

  const dims = { lora_rank: rank, batch: 1 };
  const graphs: { label: string; path: string; buildMs: number; nodes: number; inputs: ReturnType<typeof inputSpecs> }[] = [];
  const variants: { label: string; recompute?: 'auto' }[] = [{ label: 'step' }];
  if (!a.flags['no-recompute']) variants.push({ label: 'step, recompute auto', recompute: 'auto' });
  for (const v of variants) {
    const t0 = performance.now();
    const built = buildGradientModel(withSlots, { of: ['out_sample'], wrt, ...(v.recompute ? { recompute: v.recompute } : {}), ...(flipped ? { convInputGradient: 'flipped-conv' as const } : {}) });
    const g = once ? holdWeightsOnce(built).model : built;
    const buildMs = performance.now() - t0;
    const path = join(cache, `bench_unet.grad${v.recompute ? '_recompute' : ''}${once ? '.once' : ''}${flipped ? '.flipped' : ''}.onnx`);
    saveModelFile(path, g);
    graphs.push({ label: v.label, path, buildMs, nodes: g.graph?.node?.length ?? 0, inputs: inputSpecs(g, dims) });
  }

  console.error(`measuring (${iters} runs after a warm-up, ${threads} threads, a fresh process each)…`);
  const arena = !a.flags['no-arena'];
  const spin = !!a.flags.spin;
  const mallocEnv: Record<string, string> = typeof a.flags['mmap-threshold'] === 'string' ? { MALLOC_MMAP_THRESHOLD_: a.flags['mmap-threshold'] } : {};
  const fwd = await measureInChild(forwardPath, { threads, iters, arena, spin, env: mallocEnv, inputs: inputSpecs(withSlots, dims), outputs: ['out_sample'] });
  const steps: Measurement[] = [];
  for (const g of graphs) {
    steps.push(await measureInChild(g.path, { threads, iters, arena, spin, env: mallocEnv, ...(once ? { config: WEIGHTS_ONCE_CPU_CONFIG } : {}), inputs: g.inputs, outputs: wrt.map((w) => `${w}_grad`) }));
  }

  let pt: TorchSide | null = null;
  let torchNote = '';
  if (torch) {
    console.error('measuring PyTorch (OPENBLAS_CORETYPE=SkylakeX)…');
    const out = await runPython(['time', '--iters', String(iters), '--threads', String(threads)],
      { OPENBLAS_CORETYPE: 'SkylakeX', OMP_WAIT_POLICY: spin ? 'ACTIVE' : 'PASSIVE', ...mallocEnv });
    pt = JSON.parse(out.trim().split('\n').pop()!) as TorchSide;
  } else {
    torchNote = a.flags['no-torch'] ? 'PyTorch half skipped (--no-torch)' : `PyTorch half skipped: python3-torch is not installed (apt-get install -y python3-torch python3-onnx)`;
  }

  const rows: [string, string, string, string][] = [['', 'time / step', 'peak RSS', 'graph']];
  rows.push(['ours: forward (onnxruntime-node cpu)', ms(fwd.medianMs), mb(fwd.peakRssMb), `${withSlots.graph?.node?.length} nodes`]);
  graphs.forEach((g, i) => rows.push([`ours: ${g.label}`, ms(steps[i].medianMs), mb(steps[i].peakRssMb), `${g.nodes} nodes, built in ${ms(g.buildMs)}`]));
  if (pt) {
    rows.push([`PyTorch ${pt.forward.torch}: forward (no_grad)`, ms(pt.forward.median_ms), mb(pt.forward.peak_rss_mb), '']);
    rows.push([`PyTorch ${pt.step.torch}: forward + backward`, ms(pt.step.median_ms), mb(pt.step.peak_rss_mb), `${pt.step.lora_layers} LoRA layers`]);
  }
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((s, c) => (c === 0 ? s.padEnd(w[c]) : s.padStart(w[c]))).join('   ');

  const step = steps[0];
  console.log(`\ngrad benchmark: ${source}`);
  console.log(`${layers.length} LoRA layers, rank ${rank} (${wrt.length} slot inputs), ${threads} threads, median of ${iters}, onnxruntime CPU arena ${arena ? 'on' : 'off'}, idle threads ${spin ? 'spin' : 'wait passively'}${mallocEnv.MALLOC_MMAP_THRESHOLD_ ? `, MALLOC_MMAP_THRESHOLD_=${mallocEnv.MALLOC_MMAP_THRESHOLD_}` : ''} (both sides)${once ? '; step: weights once (holdWeightsOnce graph, WEIGHTS_ONCE_CPU_CONFIG session)' : ''}${flipped ? '; step: Conv input gradients as flipped-kernel Convs' : ''}; load average at start ${load0.toFixed(1)}`);
  console.log('');
  for (const r of rows) console.log(line(r));
  console.log('');
  console.log(`step / our forward      ${verdict(ratio(step.medianMs, fwd.medianMs), 2.5)}`);
  // wall time swings with the machine's load; CPU time (both threads) much less so
  console.log(`  in CPU time           ${verdict(ratio(step.cpuMedianMs, fwd.cpuMedianMs), 2.5)}  (${ms(step.cpuMedianMs)} vs ${ms(fwd.cpuMedianMs)})`);
  if (pt) {
    console.log(`step / PyTorch step     ${verdict(ratio(step.medianMs, pt.step.median_ms), 0.5)}  (issue 12's target: <= 1.0x: ${ratio(step.medianMs, pt.step.median_ms) <= 1 ? 'met' : 'NOT met'})`);
    console.log(`peak / PyTorch peak     ${verdict(ratio(step.peakRssMb, pt.step.peak_rss_mb), 1.0)}`);
    console.log(`our forward / PyTorch forward   ${ratio(fwd.medianMs, pt.forward.median_ms).toFixed(2)}x`);
    console.log(`PyTorch BLAS: ${pt.step.blas}${pt.step.openblas_coretype ? ` (OPENBLAS_CORETYPE=${pt.step.openblas_coretype})` : ''}`);
    if (!/openblas/i.test(pt.step.blas)) {
      console.log('WARNING: PyTorch ran on a non-OpenBLAS BLAS (Debian\'s reference BLAS is ~30x slower): apt-get install -y libopenblas0-pthread for a fair baseline');
    }
  } else {
    console.log(torchNote);
  }
  if (steps[1]) {
    const saved = step.peakRssMb - steps[1].peakRssMb;
    const cost = steps[1].medianMs / step.medianMs - 1;
    console.log(`recompute auto          memory saved ${mb(saved)} (${((100 * saved) / step.peakRssMb).toFixed(0)}% of the step's peak), time cost ${(100 * cost).toFixed(0)}%`);
    if (pt) console.log(`recompute peak / PyTorch peak   ${verdict(ratio(steps[1].peakRssMb, pt.step.peak_rss_mb), 1.0)}`);
  }
  console.log('\nJSON ' + JSON.stringify({ source, layers: layers.length, rank, threads, iters, arena, spin, weightsOnce: once, flippedConv: flipped, mmapThreshold: mallocEnv.MALLOC_MMAP_THRESHOLD_ ?? null, loadAverage: load0, forward: fwd, steps: graphs.map(({ inputs: _inputs, ...g }, i) => ({ ...g, ...steps[i] })), pytorch: pt }));
  return 0;
}
