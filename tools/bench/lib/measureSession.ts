// One measurement in a process of its own, so its peak RSS belongs to that one graph:
//   node --import tsx tools/bench/lib/measureSession.ts <model.onnx> <inputs.json> [--threads 2]
//        [--iters 5] [--outputs a,b] [--no-arena] [--no-spin] [--no-prepack] [--config 'k=v;k=v']
// Loads the model with onnxruntime-node (CPU, CPU_SESSION_OPTIONS as createNodeRuntime), feeds
// seeded random normal tensors for the inputs listed in inputs.json (InputSpec[]), runs once
// to warm up, then times `iters` runs. Prints one JSON line: times, median, peak RSS.
// measureInChild() below is the parent's side.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { writeFileAtomic } from '../../../src/files/atomicWrite';
import { feedInputs, valueType, type ModelProto } from '../../../src/onnx';
import { parseArgs } from '../../args';
import { median, vmHwmMb } from './report';
import { CPU_SESSION_OPTIONS } from '../../../src/runtime/sessionOptions';

export interface Measurement {
  model: string;
  timesMs: number[];
  medianMs: number;
  /** median CPU time (user + system, all threads) per run: steadier than wall time on a loaded machine */
  cpuMedianMs: number;
  /** peak resident set of the measuring process (VmHWM), MB */
  peakRssMb: number;
  /** resident set right after the session was created, before any run, MB */
  sessionRssMb: number;
  sessionCreateMs: number;
  threads: number;
}

/** Normal(0, 1) from a seeded xorshift, so every run of a benchmark feeds the same numbers. */
function randomNormal(n: number, seed: number, scale: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const u = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 2 ** 32;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;

/** A graph input to feed: name, dtype and concrete dims. */
export interface InputSpec { name: string; dtype: 'float32' | 'int64' | 'int32'; dims: number[] }

/** The inputs of `model` a caller feeds, with symbolic dims resolved from `dims`. */
export function inputSpecs(model: ModelProto, dims: Record<string, number>): InputSpec[] {
  return feedInputs(model.graph ?? {}).map((input) => {
    const t = valueType(input);
    if (!t?.shape) throw new Error(`input ${input.name} has no declared shape`);
    if (t.dtype !== 'float32' && t.dtype !== 'int64' && t.dtype !== 'int32') throw new Error(`input ${input.name} has dtype ${t.dtype}, which the benchmark does not feed`);
    const shape = t.shape.map((d) => {
      if (typeof d === 'number') return d;
      if (!(d in dims)) throw new Error(`input ${input.name} has symbolic dim '${d}' with no value given`);
      return dims[d];
    });
    return { name: input.name!, dtype: t.dtype as InputSpec['dtype'], dims: shape };
  });
}

export function makeFeeds(specs: InputSpec[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  specs.forEach((spec, k) => {
    const n = spec.dims.reduce((a, b) => a * b, 1);
    feeds[spec.name] = spec.dtype === 'float32'
      // LoRA slots small (like a fine-tune under way), everything else unit scale
      ? new ort.Tensor('float32', randomNormal(n, k + 1, spec.name.startsWith('lora.') ? 0.05 : 1), spec.dims)
      : spec.dtype === 'int32'
        ? new ort.Tensor('int32', Int32Array.from({ length: n }, (_, i) => i % 7), spec.dims)
        : new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 7)), spec.dims);
  });
  return feeds;
}

// The model file is opened by onnxruntime itself, so no JS copy of it counts in the peak.
async function measure(path: string, specs: InputSpec[], threads: number, iters: number, outputs?: string[], arena = true, spin = true, prepack = true, config: Record<string, string> = {}): Promise<Measurement> {
  const feeds = makeFeeds(specs);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    ...CPU_SESSION_OPTIONS,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableCpuMemArena: arena,
    // idle intra-op threads spin by default: on a busy machine that competes with the work
    // prepacking keeps a GEMM-ready copy of each constant B beside the original wherever another
    // node reads it too, as a train graph's backward does: off, the weights are held once
    extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' }, ...(prepack ? {} : { disable_prepacking: '1' }) }, ...config },
  });
  const sessionCreateMs = performance.now() - t0;
  const sessionRssMb = rssMb();
  const fetches = outputs ?? session.outputNames;
  await session.run(feeds, fetches);
  const timesMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < iters; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    const out = await session.run(feeds, fetches);
    timesMs.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpuMs.push((used.user + used.system) / 1000);
    for (const v of Object.values(out)) v.dispose();
  }
  await session.release();
  return { model: path, timesMs, medianMs: median(timesMs), cpuMedianMs: median(cpuMs), peakRssMb: vmHwmMb(), sessionRssMb, sessionCreateMs, threads };
}

export interface MeasureOptions {
  threads: number;
  iters: number;
  inputs: InputSpec[];
  outputs?: string[];
  /** onnxruntime's CPU memory arena (default on, as createNodeRuntime leaves it) */
  arena?: boolean;
  /** whether idle intra-op threads spin (onnxruntime's default: yes) */
  spin?: boolean;
  /** onnxruntime's pre-packing of constant GEMM operands (default on) */
  prepack?: boolean;
  /** more session config entries, e.g. {'optimization.disable_specified_optimizers': 'NchwcTransformer'} */
  config?: Record<string, string>;
  /** environment of the measuring process on top of this one's (e.g. glibc's MALLOC_MMAP_THRESHOLD_) */
  env?: Record<string, string>;
}

/** 'k=v;k=v' → {k: v} */
export function parseConfig(s: string): Record<string, string> {
  return Object.fromEntries(s.split(';').filter(Boolean).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--config: '${kv}' is not key=value`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }));
}

/** Runs measure() in a fresh Node process (same tsx loader as this one). */
export function measureInChild(path: string, opts: MeasureOptions): Promise<Measurement> {
  const specFile = `${path}.inputs.json`;
  writeFileAtomic(specFile, JSON.stringify(opts.inputs));
  const args = [
    ...process.execArgv, fileURLToPath(import.meta.url), path, specFile,
    '--threads', String(opts.threads), '--iters', String(opts.iters),
    ...(opts.outputs ? ['--outputs', opts.outputs.join(',')] : []),
    ...(opts.arena === false ? ['--no-arena'] : []),
    ...(opts.spin === false ? ['--no-spin'] : []),
    ...(opts.prepack === false ? ['--no-prepack'] : []),
    ...(opts.config && Object.keys(opts.config).length ? ['--config', Object.entries(opts.config).map(([k, v]) => `${k}=${v}`).join(';')] : []),
  ];
  return childJson<Measurement>(args, `measuring ${path}`, { ...process.env, ...opts.env });
}

/** Runs `node <args>` and parses the last line it prints as JSON; a failure carries its stderr. */
export function childJson<T>(args: string[], what: string, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) fail(new Error(`${what} failed (exit ${code}): ${err.trim() || out.trim()}`));
      else ok(JSON.parse(line) as T);
    });
  });
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const a = parseArgs(process.argv.slice(2), ['no-arena', 'no-spin', 'no-prepack']);
  const specs = JSON.parse(readFileSync(a.positional[1], 'utf8')) as InputSpec[];
  const outputs = typeof a.flags.outputs === 'string' ? a.flags.outputs.split(',') : undefined;
  const config = typeof a.flags.config === 'string' ? parseConfig(a.flags.config) : {};
  measure(a.positional[0], specs, Number(a.flags.threads ?? 2), Number(a.flags.iters ?? 5), outputs, !a.flags['no-arena'], !a.flags['no-spin'], !a.flags['no-prepack'], config).then(
    (m) => { console.log(JSON.stringify(m)); process.exit(0); },
    (e: Error) => { console.error(e.stack ?? e.message); process.exit(1); },
  );
}
