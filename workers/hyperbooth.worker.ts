// The Web Worker that runs every model: packs come through Cache Storage, graphs run on
// onnxruntime-web (WebGPU, else WASM), and progress streams back through comlink callbacks.
import * as Comlink from 'comlink';
import type {
  Backend,
  GeneratedImage,
  GenerateRequest,
  HyperBoothWorkerApi,
  LoadOptions,
  LoadPackResult,
  PackProgress,
  StepProgress,
} from './api';
import { CacheStoragePackCache, type PackCache } from '../src/packs/cache';
import { loadPack } from '../src/packs/loadPack';
import type { LoadedPack } from '../src/packs/types';
import { createPipeline, type Pipeline } from '../src/pipeline/pipeline';
import { createWebRuntime } from '../src/runtime/webRuntime';

interface Loaded {
  pack: LoadedPack;
  pipeline: Pipeline;
  backend: Backend;
  notice?: string;
}

let current: Loaded | undefined;
// ORT sessions take one run at a time, and a pack swap must not race a generate: one queue.
let queue: Promise<unknown> = Promise.resolve();

function serialized<T>(task: () => Promise<T>): Promise<T> {
  const run = queue.then(task, task);
  queue = run.catch(() => undefined);
  return run;
}

/**
 * A pipeline whose sessions all sit on one backend. When WebGPU fails on one graph the runtime
 * switches to WASM; the graphs opened on WebGPU before that are reopened on WASM too, so the
 * reported backend is the one every graph runs on.
 */
async function openPipeline(pack: LoadedPack, prefer: Backend): Promise<{ pipeline: Pipeline; backend: Backend; notice?: string }> {
  const runtime = await createWebRuntime({ prefer });
  const pipeline = await createPipeline(runtime, pack);
  if (!runtime.fellBack) return { pipeline, backend: runtime.backend, notice: runtime.notice };
  await pipeline.release();
  const wasm = await createWebRuntime({ prefer: 'wasm' });
  return { pipeline: await createPipeline(wasm, pack), backend: 'wasm', notice: runtime.notice };
}

/**
 * Progress callbacks are comlink proxies: each call is a message whose answer nobody needs, and
 * a page that went away must not turn into an unhandled rejection here.
 */
function notify<T>(callback: (value: T) => void, value: T): void {
  Promise.resolve(callback(value) as unknown).catch(() => undefined);
}

async function openPackCache(): Promise<PackCache | undefined> {
  try {
    return await CacheStoragePackCache.open();
  } catch {
    // Without Cache Storage the pack still loads; it is just downloaded again next time.
    return undefined;
  }
}

const api: HyperBoothWorkerApi = {
  loadPack(manifestUrl: string, options: LoadOptions, onProgress: (p: PackProgress) => void): Promise<LoadPackResult> {
    return serialized(async () => {
      if (current) {
        await current.pipeline.release();
        current = undefined;
      }
      const pack = await loadPack(manifestUrl, { cache: await openPackCache(), onProgress: (p) => notify(onProgress, p) });
      const { pipeline, backend, notice } = await openPipeline(pack, options.backend ?? 'webgpu');
      current = { pack, pipeline, backend, notice };
      const result: LoadPackResult = {
        manifest: pack.manifest,
        backend,
        downloadedBytes: pack.downloadedBytes,
        cachedBytes: pack.cachedBytes,
      };
      if (notice) result.notice = notice;
      return result;
    });
  },

  generate(req: GenerateRequest, onStep: (p: StepProgress) => void): Promise<GeneratedImage[]> {
    return serialized(async () => {
      if (!current) throw new Error('No model pack is loaded yet: load one before generating.');
      const loaded = current;
      const started = performance.now();
      const run = () => loaded.pipeline.generate({
        ...req,
        onStep: (s) => notify(onStep, { ...s, elapsedMs: performance.now() - started }),
      });
      let images;
      try {
        images = await run();
      } catch (e) {
        if (loaded.backend !== 'webgpu') throw e;
        // WebGPU can also fail while running (device lost, a kernel it lacks): redo it on WASM.
        await loaded.pipeline.release();
        const { pipeline } = await openPipeline(loaded.pack, 'wasm');
        loaded.pipeline = pipeline;
        loaded.backend = 'wasm';
        loaded.notice = `WebGPU failed while generating (${(e as Error).message}). Running on WASM (slower).`;
        images = await run();
      }
      const out = images.map((img): GeneratedImage => {
        const o: GeneratedImage = { ...img, backend: loaded.backend };
        if (loaded.notice) o.notice = loaded.notice;
        return o;
      });
      return Comlink.transfer(out, out.map((o) => o.rgba.buffer as ArrayBuffer));
    });
  },
};

Comlink.expose(api);
