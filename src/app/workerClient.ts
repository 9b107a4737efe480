// The UI's only door to the models: one Web Worker (workers/hyperbooth.worker.ts) reached through
// comlink. Components never import onnxruntime or pipeline code; they call this client.
// A worker that dies (script error, out of memory) answers nothing ever again, so the client
// rejects every call still waiting on it, starts a fresh one and tells its crash listeners, who
// load the pack again; the client itself replays the personal weights that were in use.
import * as Comlink from 'comlink';
import workerScript from '../../workers/hyperbooth.worker.ts?worker&url';
import { readPackOrigins, workerScriptUrl } from '../security/csp';
import type { HyperBoothWorkerApi, LoraFileFormat, UseLoraOptions } from '../../workers/api';
import type { WorkerFaultHooks } from '../../workers/faultHooks';

/** What the worker exposes: the API of workers/api.ts and the fault hooks the e2e tests pull. */
export type WorkerRemote = Comlink.Remote<HyperBoothWorkerApi & WorkerFaultHooks>;

declare global {
  interface Window {
    /**
     * Test and benchmark hook, present in every build: `api` is the comlink remote of the
     * current worker (see workers/api.ts; it changes when a crashed worker is replaced).
     * Callbacks passed to it must be wrapped with comlink's `proxy`. It exposes nothing the
     * page itself cannot already do (ending its own worker or GPU device included).
     */
    __hyperbooth?: { api: WorkerRemote };
  }
}

/** The worker's API with callbacks passed plainly (the client wraps them for comlink). */
export interface WorkerClient extends HyperBoothWorkerApi {
  /** called when the worker itself fails (script error, out of memory), after a fresh one was started */
  onCrash(listener: (message: string) => void): () => void;
  /** makes the personal weights in use before a crash active again in the fresh worker (after its pack loaded) */
  reapplyWeights(): Promise<void>;
}

/** Raised by every call that was waiting on a worker when it died. */
export class WorkerCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashedError';
  }
}

/** A worker that dies this often in a minute would only die again: stop restarting it. */
const MAX_RESTARTS_PER_MINUTE = 3;

type PersonalWeights = { kind: 'lidb'; bytes: Uint8Array } | { kind: 'lora'; bytes: Uint8Array; options?: UseLoraOptions };

/**
 * In a built site the script URL names this page's pack origins, from which the server of the
 * script gives the worker its own Content-Security-Policy (src/security/csp.ts, workerCsp).
 */
function startWorker(): Worker {
  const url = import.meta.env.PROD ? workerScriptUrl(workerScript, location.href, packOrigins()) : new URL(workerScript, location.href);
  return new Worker(url, { type: 'module', name: 'hyperbooth' });
}

function packOrigins(): string[] {
  try {
    return readPackOrigins(localStorage);
  } catch {
    return []; // storage disabled: this origin only, as the page's own policy
  }
}

function crashMessage(e: ErrorEvent): string {
  const why = e.message ? `The model worker failed: ${e.message}` : 'The model worker stopped';
  return `${why}. What it was doing was lost; it was restarted and the pack is loading again.`;
}

function createWorkerClient(): WorkerClient {
  let worker: Worker;
  let api: WorkerRemote;
  /** set once restarting stopped: every call fails with it at once */
  let dead: string | undefined;
  const restarts: number[] = [];
  const pending = new Set<(e: Error) => void>();
  const crashListeners = new Set<(message: string) => void>();
  /** the personal weights the worker holds now, replayed into a fresh worker */
  let weights: PersonalWeights | null = null;

  /**
   * Runs a call that a crash rejects. Its progress callback goes quiet once the call settled:
   * progress messages the dead worker sent before it died still arrive after the rejection.
   */
  const track = <T, P = never>(call: (progress: (p: P) => void) => Promise<T>, onProgress?: (p: P) => void): Promise<T> => {
    if (dead) return Promise.reject(new WorkerCrashedError(dead));
    let settled = false;
    const progress = Comlink.proxy((p: P) => {
      if (!settled) onProgress?.(p);
    });
    return new Promise<T>((ok, fail) => {
      const end = (e: Error) => {
        settled = true;
        fail(e);
      };
      pending.add(end);
      call(progress)
        .then(ok, fail)
        .finally(() => {
          settled = true;
          pending.delete(end);
        });
    });
  };

  const onError = (e: ErrorEvent) => {
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && now - restarts[0] > 60_000) restarts.shift();
    let message = crashMessage(e);
    worker.terminate();
    if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
      dead = `${e.message ? `The model worker failed: ${e.message}` : 'The model worker stopped'}, ${restarts.length} times in a minute: reload the page.`;
      message = dead;
    } else {
      start();
    }
    const waiting = [...pending];
    pending.clear();
    for (const fail of waiting) fail(new WorkerCrashedError(message));
    for (const l of crashListeners) l(message);
  };

  function start(): void {
    worker = startWorker();
    api = Comlink.wrap<HyperBoothWorkerApi & WorkerFaultHooks>(worker);
    window.__hyperbooth = { api };
    worker.addEventListener('error', onError);
  }
  start();

  return {
    loadPack: (url, options, onProgress) => track((progress) => api.loadPack(url, options, progress), onProgress),
    generate: (req, onStep) => track((progress) => api.generate(req, progress), onStep),
    prepareSelfie: (file) => track(() => api.prepareSelfie(file)),
    async personalize(selfie, settings, onProgress) {
      const result = await track((progress) => api.personalize(selfie, settings, progress), onProgress);
      weights = { kind: 'lidb', bytes: result.lidb.slice() };
      return result;
    },
    cancelPersonalize: () => track(() => api.cancelPersonalize()),
    cancelGenerate: () => track(() => api.cancelGenerate()),
    importCheckpoint: (file, options, onProgress) => track((progress) => api.importCheckpoint(file, options, progress), onProgress),
    cancelImport: () => track(() => api.cancelImport()),
    async usePersonalization(lidb) {
      const info = await track(() => api.usePersonalization(lidb));
      weights = lidb ? { kind: 'lidb', bytes: lidb.slice() } : null;
      return info;
    },
    exportPersonalization: (format: LoraFileFormat) => track(() => api.exportPersonalization(format)),
    async useLora(bytes, options) {
      const result = await track(() => api.useLora(bytes, options));
      weights = { kind: 'lora', bytes: bytes.slice(), options };
      return result;
    },
    async reapplyWeights() {
      const w = weights;
      if (!w) return;
      if (w.kind === 'lidb') await track(() => api.usePersonalization(w.bytes.slice()));
      else await track(() => api.useLora(w.bytes.slice(), w.options));
    },
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
