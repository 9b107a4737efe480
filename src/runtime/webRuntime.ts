// onnxruntime-web behind the Runtime interface: the WebGPU EP when the browser has a working
// adapter, the WASM EP otherwise, and a fall back to WASM when WebGPU cannot take a model.
// Whether WebGPU is worth preferring (a software adapter is not) is backendChoice.ts's question.
// The `webgpu` entry point is used because the plain one's WebGPU backend rejected Conv without
// an explicit kernel_shape (DESIGN.md section 5); it contains the WASM EP as well.
import * as ort from 'onnxruntime-web/webgpu';
import type { ModelSource, Runtime, Session } from './types';
import { wrapSession } from './ortAdapter';
import { inspectWebgpuAdapter } from './webgpuAdapter';

export type WebBackend = 'webgpu' | 'wasm';

export interface WebRuntimeOptions {
  prefer?: WebBackend;
  /**
   * URL prefix of onnxruntime-web's ort-wasm-*.mjs/.wasm files. Defaults to `<base>ort/`,
   * where vite.config.ts serves (dev, preview) and emits (build) them.
   */
  wasmPaths?: string;
  /**
   * WebGPU features the models need (e.g. `shader-f16` for a pack with float16 compute): an
   * adapter without them cannot run those graphs (and ORT does not fall back per op), so WASM is used.
   */
  requiredFeatures?: readonly string[];
}

export interface WebRuntime extends Runtime {
  readonly backend: WebBackend;
  /** why the runtime is not on the preferred backend, when it is not */
  readonly notice: string | undefined;
  /** true once a WebGPU failure moved this runtime to WASM (sessions made before stay on WebGPU) */
  readonly fellBack: boolean;
}

let envConfigured = false;

function configureEnv(wasmPaths: string | undefined): void {
  if (envConfigured) return;
  envConfigured = true;
  ort.env.wasm.wasmPaths = wasmPaths ?? defaultWasmPaths();
  // Without cross-origin isolation there is no SharedArrayBuffer, so threads cannot start;
  // ort's own default would try and fail. Four threads is where the tiny graphs stop scaling.
  const threads = globalThis.crossOriginIsolated ? Math.min(4, globalThis.navigator?.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  // The runtime already lives in a Web Worker: a proxy worker would only add a hop.
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

function defaultWasmPaths(): string {
  const base = (import.meta.env?.BASE_URL as string | undefined) ?? '/';
  return new URL(`${base}ort/`, globalThis.location.href).href;
}

export async function createWebRuntime(opts: WebRuntimeOptions = {}): Promise<WebRuntime> {
  configureEnv(opts.wasmPaths);
  let backend: WebBackend = 'wasm';
  let notice: string | undefined;
  let fellBack = false;
  if ((opts.prefer ?? 'webgpu') === 'webgpu') {
    const adapter = await inspectWebgpuAdapter(opts.requiredFeatures ?? []);
    if (adapter.kind === 'none') notice = `WebGPU is not available: ${adapter.reason}. Running on WASM (slower).`;
    else backend = 'webgpu';
  }

  const create = async (source: ModelSource, ep: WebBackend) => {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      // ORT's C++ warnings (e.g. shape ops placed on CPU) reach the console as errors otherwise.
      logSeverityLevel: 3,
      graphOptimizationLevel: 'all',
    };
    if (source.externalData) options.externalData = source.externalData;
    return ort.InferenceSession.create(source.model, options);
  };

  return {
    get backend() { return backend; },
    get notice() { return notice; },
    get fellBack() { return fellBack; },
    async createSession(source: ModelSource): Promise<Session> {
      if (backend === 'webgpu') {
        try {
          return wrapSession(await create(source, 'webgpu'), ort, source.name);
        } catch (e) {
          backend = 'wasm';
          fellBack = true;
          notice = `WebGPU could not load ${source.name} (${(e as Error).message}). Running on WASM (slower).`;
        }
      }
      try {
        return wrapSession(await create(source, 'wasm'), ort, source.name);
      } catch (e) {
        // after a WebGPU failure, that one is the cause worth reading: say both
        throw new Error(`${source.name}: onnxruntime-web (WASM) could not load the model: ${(e as Error).message}${fellBack && notice ? ` (${notice})` : ''}`);
      }
    },
  };
}
