// The UI's only door to the models: one Web Worker (workers/hyperbooth.worker.ts) reached through
// comlink. Components never import onnxruntime or pipeline code; they call this client.
import * as Comlink from 'comlink';
import type { HyperBoothWorkerApi } from '../../workers/api';

/** The worker serves both halves of workers/api.ts: text-to-image and personalization. */
export type WorkerRemote = Comlink.Remote<HyperBoothWorkerApi>;

declare global {
  interface Window {
    /**
     * Test and benchmark hook, present in every build: `api` is the comlink remote of the worker
     * (see workers/api.ts). Callbacks passed to it must be wrapped with comlink's `proxy`.
     * It exposes nothing the page itself cannot already do.
     */
    __hyperbooth?: { api: WorkerRemote };
  }
}

/** The worker's API with callbacks passed plainly (the client wraps them for comlink). */
export interface WorkerClient extends HyperBoothWorkerApi {
  /** called when the worker itself fails (script error, out of memory), not a rejected call */
  onCrash(listener: (message: string) => void): () => void;
}

function createWorkerClient(): WorkerClient {
  const worker = new Worker(new URL('../../workers/hyperbooth.worker.ts', import.meta.url), {
    type: 'module',
    name: 'hyperbooth',
  });
  const api = Comlink.wrap<HyperBoothWorkerApi>(worker);
  window.__hyperbooth = { api };

  const crashListeners = new Set<(message: string) => void>();
  worker.addEventListener('error', (e) => {
    const message = e.message ? `The model worker failed: ${e.message}` : 'The model worker failed to start';
    for (const l of crashListeners) l(message);
  });

  return {
    loadPack: (url, options, onProgress) => api.loadPack(url, options, Comlink.proxy(onProgress)),
    generate: (req, onStep) => api.generate(req, Comlink.proxy(onStep)),
    prepareSelfie: (file) => api.prepareSelfie(file),
    personalize: (selfie, settings, onProgress) => api.personalize(selfie, settings, Comlink.proxy(onProgress)),
    cancelPersonalize: () => api.cancelPersonalize(),
    cancelGenerate: () => api.cancelGenerate(),
    usePersonalization: (lidb) => api.usePersonalization(lidb),
    exportPersonalization: (format) => api.exportPersonalization(format),
    useLora: (bytes, options) => api.useLora(bytes, options),
    onCrash(listener) {
      crashListeners.add(listener);
      return () => crashListeners.delete(listener);
    },
  };
}

let client: WorkerClient | undefined;

/** One worker per page: models are large, so every caller shares it. */
export function getWorkerClient(): WorkerClient {
  client ??= createWorkerClient();
  return client;
}
