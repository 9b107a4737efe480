// The bytes one onnxruntime-node CPU run of a graph holds at its peak, weights included, counted
// in a process of its own so the count belongs to that graph alone:
//   HEAPCOUNT_FILE=… LD_PRELOAD=heapcount.so node --import tsx tools/bench/lib/measurePeak.ts <model.onnx> <inputs.json> <counters> [<session config.json>]
// measureGraphPeak() is the parent's side.
//
// What is counted: every byte the process holds in aligned heap blocks (heapcount.c, preloaded),
// which is where onnxruntime keeps weights, tensors and kernel scratch with its arena off. Resident-set figures cannot do this at the tiny pack's scale: onnxruntime's session
// machinery and the code it pages in weigh tens of MB and vary by MBs run to run. Weights as the
// session holds them (after its constant folding and pre-packing) are what it holds once created
// (a session over the same graph with its weights as inputs holds 5–11 KB, measured). The run: the session runs once (kernels allocate on first use), the peak is reset, and the
// second run's peak over the bytes held before it is what the run adds; feeds are counted by
// size. Memory pattern off as in CPU_SESSION_OPTIONS, one thread.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { CPU_SESSION_OPTIONS } from '../../../src/runtime/sessionOptions';
import { childJson, makeFeeds, type InputSpec } from './measureSession';

export interface PeakMeasurement {
  /** bytes the process holds more once the session is created */
  sessionBytes: number;
  /** the second run's peak over the bytes held just before it */
  runBytes: number;
}

/** [live, peak] of the preloaded counter. */
function counters(fd: number): [number, number] {
  const buf = Buffer.alloc(24);
  readSync(fd, buf, 0, 24, 0);
  return [Number(buf.readBigInt64LE(0)), Number(buf.readBigInt64LE(8))];
}

function resetPeak(fd: number): number {
  const [live] = counters(fd);
  const buf = Buffer.alloc(8);
  buf.writeBigInt64LE(BigInt(live));
  writeSync(fd, buf, 0, 8, 8);
  return live;
}

async function measurePeak(path: string, specs: InputSpec[] | null, counterFile: string, config: Record<string, string> = {}): Promise<PeakMeasurement> {
  const fd = openSync(counterFile, 'r+');
  try {
    const feeds = specs && makeFeeds(specs);
    const before = counters(fd)[0];
    const session = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      ...CPU_SESSION_OPTIONS,
      enableCpuMemArena: false,
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      extra: config,
    });
    const sessionBytes = counters(fd)[0] - before;
    if (!feeds) return { sessionBytes, runBytes: 0 };
    for (const v of Object.values(await session.run(feeds))) v.dispose();
    const held = resetPeak(fd);
    const out = await session.run(feeds);
    const runBytes = counters(fd)[1] - held;
    for (const v of Object.values(out)) v.dispose();
    await session.release();
    return { sessionBytes, runBytes };
  } finally {
    closeSync(fd);
  }
}

export class MeasureToolError extends Error {
  constructor(message: string) { super(message); this.name = 'MeasureToolError'; }
}

const SHIM_SOURCE = fileURLToPath(new URL('./heapcount.c', import.meta.url));

/** Builds heapcount.c once per content into the temp folder; returns the .so's path. */
export function heapCounterLibrary(): string {
  const source = readFileSync(SHIM_SOURCE);
  const lib = join(tmpdir(), `hyperbooth-heapcount-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.so`);
  if (existsSync(lib)) return lib;
  const tmp = `${lib}.${process.pid}.tmp`;
  const cc = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', tmp, SHIM_SOURCE], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) {
    throw new MeasureToolError(`measuring peaks needs a C compiler to build ${SHIM_SOURCE} (apt-get install gcc): ${cc.error?.message ?? cc.stderr.trim()}`);
  }
  spawnSync('mv', [tmp, lib]);
  return lib;
}

/**
 * Runs measurePeak() in a fresh Node process (same tsx loader as this one); no inputs: create the
 * session only. `config`: more session config entries (e.g. WEIGHTS_ONCE_CPU_CONFIG).
 */
export function measurePeakInChild(path: string, inputs: InputSpec[] | null, config: Record<string, string> = {}): Promise<PeakMeasurement> {
  const dir = mkdtempSync(join(tmpdir(), 'hyperbooth-peak-'));
  const specFile = join(dir, 'inputs.json');
  const counterFile = join(dir, 'counters');
  writeFileSync(specFile, JSON.stringify(inputs));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  writeFileSync(counterFile, Buffer.alloc(24));
  const env = { ...process.env, LD_PRELOAD: heapCounterLibrary(), HEAPCOUNT_FILE: counterFile };
  // tsx's loader named outright: under vitest the parent's execArgv does not carry it
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  return childJson<PeakMeasurement>(['--import', tsx, fileURLToPath(import.meta.url), path, specFile, counterFile, configFile], `measuring ${path}`, env)
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

const ELEMENT_BYTES: Record<InputSpec['dtype'], number> = { float32: 4, int32: 4, int64: 8 };

export interface GraphPeak {
  /** bytes the session holds once created: its weights after constant folding and pre-packing */
  weightsHeldBytes: number;
  feedBytes: number;
  runBytes: number;
  /** weights held + feeds + what the run adds: the measured counterpart of graphMemory().peakBytes */
  peakBytes: number;
}

/** The measured peak of one run of the model at `path`. */
export async function measureGraphPeak(path: string, inputs: InputSpec[], config: Record<string, string> = {}): Promise<GraphPeak> {
  const real = await measurePeakInChild(path, inputs, config);
  const weightsHeldBytes = real.sessionBytes;
  const feedBytes = inputs.reduce((a, s) => a + ELEMENT_BYTES[s.dtype] * s.dims.reduce((x, y) => x * y, 1), 0);
  return { weightsHeldBytes, feedBytes, runBytes: real.runBytes, peakBytes: weightsHeldBytes + feedBytes + real.runBytes };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const specs = JSON.parse(readFileSync(process.argv[3], 'utf8')) as InputSpec[] | null;
  const config = process.argv[5] ? JSON.parse(readFileSync(process.argv[5], 'utf8')) as Record<string, string> : {};
  measurePeak(process.argv[2], specs, process.argv[4], config).then(
    (m) => { console.log(JSON.stringify(m)); process.exit(0); },
    (e: Error) => { console.error(e.stack ?? e.message); process.exit(1); },
  );
}
