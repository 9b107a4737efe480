// Runs inside chromium for `npm run bench -- chromium-sd15`. Two kinds of measurement:
//  - capacity(): one onnxruntime-web session (the app's session options) over a synthetic graph
//    whose external-data weights total N bytes, on WASM or WebGPU, with the wasm heap's size read
//    before and after creating it, so whether external weights pass through the heap, and the
//    largest session each backend takes, are measured rather than read off ORT's source;
//  - the app's own worker (workers/hyperbooth.worker.ts) on a real pack: loadPack, one generate()
//    step, one personalize() with a single fine-tune step.
import * as Comlink from 'comlink';
import { encodeModel, onnx } from '../../../src/onnx';
import type { Backend, HyperBoothWorkerApi, LoadPackResult } from '../../../workers/api';

// onnxruntime-web makes its heap with `new WebAssembly.Memory` (threaded build) or exports it from
// the instance: both are recorded before ort is imported, so the heap can be read from here.
const heaps: WebAssembly.Memory[] = [];
const heapMaxPages: number[] = [];
const NativeMemory = WebAssembly.Memory;
(WebAssembly as { Memory: unknown }).Memory = function Memory(this: unknown, d: WebAssembly.MemoryDescriptor) {
  const m = new NativeMemory(d);
  heaps.push(m);
  if (d.maximum !== undefined) heapMaxPages.push(d.maximum);
  return m;
} as unknown as typeof WebAssembly.Memory;
(WebAssembly.Memory as unknown as { prototype: unknown }).prototype = NativeMemory.prototype;
const heapBytes = () => heaps.reduce((a, m) => Math.max(a, m.buffer.byteLength), 0);

export interface AdapterReport {
  limits: Record<string, number>;
  features: string[];
  info: Record<string, unknown>;
  /** whether requestDevice grants the adapter's maxBufferSize / maxStorageBufferBindingSize */
  deviceLimits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

export interface CapacityResult {
  backend: 'wasm' | 'webgpu';
  weightsBytes: number;
  tensorBytes: number;
  ok: boolean;
  error?: string;
  /** wasm heap before and after creating the session, and after its run */
  heapBefore: number;
  heapAfterCreate: number;
  heapAfterRun: number;
  heapMaxBytes: number;
  createMs: number;
  runMs: number;
  /** the run's output, which must equal the number of weight tensors (every weight is 1.0) */
  output?: number;
  expected: number;
}

export interface AppStepResult {
  load: Omit<LoadPackResult, 'manifest'> & { ms: number };
  generate?: { ms: number; backend?: Backend; width: number; height: number; finite: boolean };
  personalize?: { ms: number; backend?: Backend; stepMs: number[]; loss: number[]; vaeEncodeMs: number };
  error?: string;
  stage: string;
}

declare global {
  interface Window {
    __chromiumSd15?: {
      adapter(): Promise<AdapterReport | { error: string }>;
      capacity(backend: 'wasm' | 'webgpu', weightsBytes: number, tensorBytes: number): Promise<CapacityResult>;
      appSteps(manifestUrl: string, backend: Backend, work: ('generate' | 'personalize')[]): Promise<AppStepResult>;
    };
  }
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const ROW = 1024;
/** external-data files of at most this size, as the packer writes them (--chunk-mb 512) */
const FILE_BYTES = 512 * 2 ** 20;

/**
 * y = x + Σ_i Gather(W_i, idx), idx an input: every weight tensor is bound whole to a shader
 * (WebGPU) and read, and no constant folding can replace one by its result. Weights are `tensorBytes` each, external, in 512 MiB files.
 */
function capacityModel(weightsBytes: number, tensorBytes: number): { model: Uint8Array; files: { path: string; data: Uint8Array }[]; count: number } {
  const rows = Math.max(1, Math.floor(tensorBytes / (ROW * 4)));
  const bytes = rows * ROW * 4;
  const count = Math.max(1, Math.round(weightsBytes / bytes));
  const perFile = Math.max(1, Math.floor(FILE_BYTES / bytes));
  const files: { path: string; data: Uint8Array }[] = [];
  const initializer: ReturnType<typeof onnx.TensorProto.create>[] = [];
  const nodes: ReturnType<typeof onnx.NodeProto.create>[] = [];
  for (let f = 0; f * perFile < count; f++) {
    const n = Math.min(perFile, count - f * perFile);
    const data = new Uint8Array(n * bytes);
    new Uint32Array(data.buffer).fill(0x3f800000);
    files.push({ path: `w${f}.bin`, data });
  }
  for (let i = 0; i < count; i++) {
    const f = Math.floor(i / perFile);
    initializer.push(onnx.TensorProto.create({
      name: `w${i}`, dataType: FLOAT, dims: [rows, ROW], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        onnx.StringStringEntryProto.create({ key: 'location', value: `w${f}.bin` }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String((i - f * perFile) * bytes) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(bytes) }),
      ],
    }));
    nodes.push(onnx.NodeProto.create({ opType: 'Gather', input: [`w${i}`, 'idx'], output: [`g${i}`], name: `gather${i}` }));
  }
  nodes.push(onnx.NodeProto.create({ opType: 'Sum', input: ['x', ...nodes.map((n) => n.output![0])], output: ['y'], name: 'sum' }));
  const vi = (name: string, dims: number[]) => onnx.ValueInfoProto.create({
    name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'hyperbooth-bench',
    graph: { name: 'capacity', node: nodes, initializer, input: [vi('x', [1, ROW]), onnx.ValueInfoProto.create({ name: 'idx', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 1 }] } } } })], output: [vi('y', [1, ROW])] },
  });
  return { model: encodeModel(model), files, count };
}

let ortModule: typeof import('onnxruntime-web/webgpu') | undefined;
async function ort() {
  if (ortModule) return ortModule;
  ortModule = await import('onnxruntime-web/webgpu');
  // the app's settings (src/runtime/webRuntime.ts)
  ortModule.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
  ortModule.env.wasm.numThreads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ortModule.env.wasm.proxy = false;
  ortModule.env.logLevel = 'error';
  return ortModule;
}

const worker = new Worker(new URL('../../../workers/hyperbooth.worker.ts', import.meta.url), { type: 'module', name: 'hyperbooth-bench' });
const api = Comlink.wrap<HyperBoothWorkerApi>(worker);

window.__chromiumSd15 = {
  async adapter() {
    type Limits = Record<string, number> & { maxBufferSize: number; maxStorageBufferBindingSize: number };
    type Adapter = { limits: Limits; features: Set<string>; info?: Record<string, unknown>; requestDevice(d: unknown): Promise<{ limits: Limits; destroy(): void }> };
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter() : null;
    if (!adapter) return { error: gpu ? 'requestAdapter returned null' : 'navigator.gpu is missing' };
    const limits: Record<string, number> = {};
    for (const k in adapter.limits) limits[k] = Number(adapter.limits[k]);
    const info: Record<string, unknown> = {};
    for (const k of ['vendor', 'architecture', 'device', 'description', 'isFallbackAdapter']) info[k] = adapter.info?.[k];
    const report: AdapterReport = { limits, features: [...adapter.features].sort(), info };
    try {
      const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
      report.deviceLimits = { maxBufferSize: device.limits.maxBufferSize, maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize };
      device.destroy();
    } catch { /* reported as missing */ }
    return report;
  },

  async capacity(backend, weightsBytes, tensorBytes) {
    const o = await ort();
    // a first small session starts the runtime (its heap, its WebGPU device), so `heapBefore` is its baseline
    const warm = capacityModel(4096, 4096);
    const warmSession = await o.InferenceSession.create(warm.model, { executionProviders: [backend], externalData: warm.files });
    await warmSession.run({ x: new o.Tensor('float32', new Float32Array(ROW), [1, ROW]), idx: new o.Tensor('int64', new BigInt64Array([0n]), [1]) });
    await warmSession.release();
    const { model, files, count } = capacityModel(weightsBytes, tensorBytes);
    const heapBefore = heapBytes();
    const r: CapacityResult = {
      backend, weightsBytes: files.reduce((a, f) => a + f.data.length, 0), tensorBytes: Math.floor(tensorBytes / (ROW * 4)) * ROW * 4,
      ok: false, heapBefore, heapAfterCreate: heapBefore, heapAfterRun: heapBefore, heapMaxBytes: 0, createMs: NaN, runMs: NaN, expected: count,
    };
    let session: Awaited<ReturnType<typeof o.InferenceSession.create>> | undefined;
    try {
      const t0 = performance.now();
      session = await o.InferenceSession.create(model, { executionProviders: [backend], logSeverityLevel: 3, graphOptimizationLevel: 'all', externalData: files });
      r.createMs = performance.now() - t0;
      r.heapAfterCreate = heapBytes();
      files.length = 0; // the app drops nothing here either, but the probe's copies are not needed
      const t1 = performance.now();
      const out = await session.run({ x: new o.Tensor('float32', new Float32Array(ROW), [1, ROW]), idx: new o.Tensor('int64', new BigInt64Array([0n]), [1]) });
      r.runMs = performance.now() - t1;
      const y = (await out.y.getData()) as Float32Array;
      r.output = y[0];
      r.ok = y.every((v) => v === count);
      if (!r.ok) r.error = `wrong output ${y[0]} (expected ${count})`;
    } catch (e) {
      r.error = e instanceof Error ? e.message : String(e);
    } finally {
      r.heapAfterRun = heapBytes();
      r.heapMaxBytes = heapMaxPages.length ? Math.max(...heapMaxPages) * 65536 : NaN;
      await session?.release().catch(() => undefined);
    }
    return r;
  },

  async appSteps(manifestUrl, backend, work) {
    const out: AppStepResult = { load: { backend, downloadedBytes: 0, cachedBytes: 0, ms: NaN }, stage: 'load' };
    try {
      const t0 = performance.now();
      const { manifest, ...rest } = await api.loadPack(manifestUrl, { backend }, Comlink.proxy(() => undefined));
      out.load = { ...rest, ms: performance.now() - t0 };
      console.log(`[bench] loaded on ${rest.backend} in ${(out.load.ms / 1000).toFixed(1)} s${rest.notice ? ` (${rest.notice})` : ''}`);
      const generate = async () => {
        out.stage = 'generate';
        const t1 = performance.now();
        const g = await api.generate({ prompts: ['a photo of a person'], seed: 1, steps: 1, guidance: 7.5, scheduler: 'ddim' }, Comlink.proxy(() => undefined));
        const img = g.images[0];
        console.log(`[bench] generate 1 step: ${((performance.now() - t1) / 1000).toFixed(1)} s`);
        out.generate = { ms: performance.now() - t1, backend: g.backend, width: img.width, height: img.height, finite: img.rgba.some((v) => v !== img.rgba[0]) };
      };
      const personalize = async () => {
        out.stage = 'personalize';
        // no hypernetwork in a converted pack: the fine-tune starts from a fresh LiDB on this crop
        const size = manifest.image.width;
        const rgba = new Uint8ClampedArray(size * size * 4);
        for (let i = 0; i < rgba.length; i += 4) { rgba[i] = (i >> 2) % 251; rgba[i + 1] = (i >> 3) % 241; rgba[i + 2] = 128; rgba[i + 3] = 255; }
        const t2 = performance.now();
        const p = await api.personalize({ rgba, width: size, height: size, crop: { x: 0, y: 0, size } }, { steps: 1, learningRate: 1e-3, rank: 4, seed: 1 },
          Comlink.proxy((x) => console.log(`[bench] personalize ${x.stage} ${x.step}/${x.steps} at ${((performance.now() - t2) / 1000).toFixed(1)} s${x.loss !== undefined ? `, loss ${x.loss}` : ''}`)));
        console.log(`[bench] personalize done in ${((performance.now() - t2) / 1000).toFixed(1)} s: step ${p.timings?.stepMs?.[0]} ms, VAE encode ${p.timings?.vaeEncodeMs} ms, loss ${p.losses[0]}`);
        out.personalize = { ms: performance.now() - t2, backend: p.backend, stepMs: p.timings?.stepMs ?? [], loss: p.losses, vaeEncodeMs: p.timings?.vaeEncodeMs ?? NaN };
      };
      for (const w of work) await (w === 'generate' ? generate() : personalize());
      out.stage = 'done';
    } catch (e) {
      out.error = e instanceof Error ? e.message : String(e);
    }
    return out;
  },
};
document.title = 'bench-ready';
