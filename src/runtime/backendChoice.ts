// Which onnxruntime-web backend a pack runs on, and the sentence that says why when it is not
// WebGPU on a real GPU. decideBackend() is the whole rule, as a pure function; chooseWebBackend()
// gathers its inputs in the browser (the adapter, and the probe timed on both backends).
import { buildProbeModel, probeShapeOf, timeProbe, type ProbeShape } from './backendProbe';
import type { Runtime } from './types';
import { inspectWebgpuAdapter, type WebgpuAdapterReport } from './webgpuAdapter';

export type WebBackendName = 'webgpu' | 'wasm';

export interface ProbeTimes {
  webgpu: number;
  wasm: number;
}

export interface BackendChoice {
  backend: WebBackendName;
  /** why, when the choice is not the plain "WebGPU on a hardware GPU" */
  notice?: string;
  /** what the probe measured, when it ran */
  probeMs?: ProbeTimes;
}

const FORCE_HINT = 'Add ?backend=webgpu to the address to use WebGPU anyway.';
const ms = (t: number) => `${t < 10 ? t.toFixed(1) : Math.round(t)} ms`;

/**
 * The rule: a backend forced in the address wins; no usable adapter means WASM; a software
 * adapter means WASM without probing (it is many times slower: 85 s against 1.6 s for one tiny
 * image on SwiftShader); on a hardware adapter the probe's faster backend, WebGPU when no probe ran.
 * `probe` is an Error when WebGPU could not run the probe.
 */
export function decideBackend(adapter: WebgpuAdapterReport, forced?: WebBackendName, probe?: ProbeTimes | Error): BackendChoice {
  if (forced === 'wasm') return { backend: 'wasm' };
  if (adapter.kind === 'none') return { backend: 'wasm', notice: `WebGPU is not available: ${adapter.reason}. Running on WASM (slower).` };
  if (forced === 'webgpu') {
    return adapter.kind === 'software'
      ? { backend: 'webgpu', notice: `WebGPU forced in the address, on a software renderer (${adapter.name}): expect it to be much slower than WASM.` }
      : { backend: 'webgpu' };
  }
  if (adapter.kind === 'software') {
    return { backend: 'wasm', notice: `WebGPU here is a software renderer (${adapter.name}), many times slower than WASM: running on WASM. ${FORCE_HINT}` };
  }
  if (probe instanceof Error) {
    return { backend: 'wasm', notice: `WebGPU (${adapter.name}) could not run a test layer (${probe.message}): running on WASM. ${FORCE_HINT}` };
  }
  if (probe && probe.wasm < probe.webgpu) {
    return {
      backend: 'wasm',
      probeMs: probe,
      notice: `WASM ran a layer of this pack in ${ms(probe.wasm)}, WebGPU (${adapter.name}) in ${ms(probe.webgpu)}: running on WASM. ${FORCE_HINT}`,
    };
  }
  return probe ? { backend: 'webgpu', probeMs: probe } : { backend: 'webgpu' };
}

/** Times the probe on both backends; an Error when WebGPU cannot run it (WASM failing throws). */
export async function probeBackends(open: (backend: WebBackendName) => Promise<Runtime>, shape: ProbeShape): Promise<ProbeTimes | Error> {
  const model = buildProbeModel(shape);
  const wasm = await timeProbe(await open('wasm'), model, shape);
  try {
    const gpu = await open('webgpu');
    const webgpu = await timeProbe(gpu, model, shape);
    // a web runtime that WebGPU refused moves itself to WASM: that is a failure here, not a time
    if (gpu.backend !== 'webgpu') return new Error(`its session ran on ${gpu.backend} instead`);
    return { webgpu, wasm };
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

export interface ChooseOptions {
  /** the backend the address forces (?backend=), if any */
  forced?: WebBackendName;
  /** WebGPU features the pack's graphs need (requiredWebgpuFeatures) */
  requiredFeatures?: readonly string[];
  /** the pack whose UNet sizes the probe; without it no probe runs */
  manifest?: Parameters<typeof probeShapeOf>[0];
  /** opens a runtime pinned to one backend (createWebRuntime with `prefer`) */
  open: (backend: WebBackendName) => Promise<Runtime>;
  /** reads the adapter (default: navigator.gpu) */
  inspect?: () => Promise<WebgpuAdapterReport>;
}

/** Reads the adapter, probes both backends when that can change the answer, and decides. */
export async function chooseWebBackend(opts: ChooseOptions): Promise<BackendChoice> {
  if (opts.forced === 'wasm') return decideBackend({ kind: 'hardware', name: '' }, 'wasm');
  const adapter = await (opts.inspect ?? (() => inspectWebgpuAdapter(opts.requiredFeatures)))();
  const probe = adapter.kind === 'hardware' && !opts.forced && opts.manifest ? await probeBackends(opts.open, probeShapeOf(opts.manifest)) : undefined;
  return decideBackend(adapter, opts.forced, probe);
}
