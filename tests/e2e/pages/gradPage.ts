// Runs inside chromium for tests/e2e/gradParity.e2e.test.ts: one onnxruntime-web session on the
// WebGPU EP (no WASM fallback: the point is WebGPU), fed and read through page.evaluate. Model
// bytes and feeds come from URLs the test answers with page.route, so nothing is written to disk.
import * as ort from 'onnxruntime-web/webgpu';

export interface WireTensor { type: 'float32' | 'int64'; dims: number[]; data: number[] }

export interface GradRunResult {
  outputs: Record<string, WireTensor>;
  /** node placement from ORT's verbose session log, by execution provider */
  placement: Record<string, Placement>;
  ms: number;
  adapter: string;
}

export interface GradParityHooks {
  /** model and feeds: `<base>/model.onnx`, `<base>/feeds.bin` with `<base>/feeds.json` (name, type, dims, byte offset) */
  run(base: string, outputs: string[]): Promise<GradRunResult>;
}

declare global {
  interface Window { __gradParity?: GradParityHooks }
}

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = 'error';

interface FeedSpec { name: string; type: 'float32' | 'int64'; dims: number[]; offset: number; bytes: number }

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

// onnxruntime's wasm module binds the console functions once, when it starts (at the first
// session): a hook installed now, before that, sees every later log line.
let sink: string[] | null = null;
for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[m].bind(console);
  console[m] = (...args: unknown[]) => {
    if (sink) sink.push(args.map(String).join(' '));
    else original(...args);
  };
}

/** Runs `fn` while console output is collected, then hands the lines to `parse`. */
async function withConsoleCapture<T, P>(parse: (lines: string[]) => P, fn: () => Promise<T>): Promise<{ value: T; placement: P }> {
  const lines: string[] = [];
  sink = lines;
  try {
    const value = await fn();
    return { value, placement: parse(lines) };
  } finally {
    sink = null;
  }
}

/** Nodes an execution provider took, in total and by op type (when ORT lists them). */
export interface Placement { nodes: number; ops: Record<string, number> }

/**
 * ORT's verbose log (VerifyEachNodeIsAssignedToAnEp) says ` All nodes placed on [EP]. Number of
 * nodes: N` or, per provider, ` Node(s) placed on [EP]. Number of nodes: K` followed by one
 * `  OpType (node name)` line per node.
 */
function parsePlacement(lines: string[]): Record<string, Placement> {
  const out: Record<string, Placement> = {};
  let ep: string | null = null;
  for (const line of lines) {
    const at = line.indexOf('VerifyEachNodeIsAssignedToAnEp]');
    if (at < 0) continue;
    const msg = line.slice(at + 'VerifyEachNodeIsAssignedToAnEp]'.length);
    const header = /placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(msg);
    if (header) {
      ep = header[1];
      out[ep] = { nodes: Number(header[2]), ops: {} };
      continue;
    }
    const node = /^\s+([A-Za-z][A-Za-z0-9]*) \(/.exec(msg);
    if (node && ep) out[ep].ops[node[1]] = (out[ep].ops[node[1]] ?? 0) + 1;
  }
  return out;
}

window.__gradParity = {
  async run(base, outputs) {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter() : null;
    if (!adapter) throw new Error('no WebGPU adapter in this browser');
    const [model, feedBytes, specs] = await Promise.all([
      fetchBytes(`${base}/model.onnx`),
      fetchBytes(`${base}/feeds.bin`),
      fetch(`${base}/feeds.json`).then((r) => r.json() as Promise<FeedSpec[]>),
    ]);
    const feeds: Record<string, ort.Tensor> = {};
    for (const s of specs) {
      const buf = feedBytes.slice(s.offset, s.offset + s.bytes);
      feeds[s.name] = s.type === 'float32' ? new ort.Tensor('float32', new Float32Array(buf), s.dims) : new ort.Tensor('int64', new BigInt64Array(buf), s.dims);
    }
    const session = await withConsoleCapture(parsePlacement, () => ort.InferenceSession.create(new Uint8Array(model), {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all',
      // verbose: ORT then logs which execution provider each node was placed on
      logSeverityLevel: 0,
    }));
    try {
      const t0 = performance.now();
      const res = await session.value.run(feeds, outputs);
      const ms = performance.now() - t0;
      const out: Record<string, WireTensor> = {};
      for (const [k, t] of Object.entries(res)) {
        const data = await t.getData();
        out[k] = { type: t.type as 'float32', dims: [...t.dims], data: Array.from(data as Float32Array) };
        t.dispose();
      }
      const info = adapter.info ?? {};
      return { outputs: out, placement: session.placement, ms, adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') };
    } finally {
      await session.value.release();
    }
  },
};
document.title = 'grad-ready';
