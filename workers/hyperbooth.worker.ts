// The Web Worker that runs every model: packs come through Cache Storage, graphs run on
// onnxruntime-web (WebGPU, else WASM), and progress streams back through comlink callbacks.
// This file only queues the calls and hands them to the objects that own the work: the models
// and their backend (backendHolder.ts), the personal weights (personalWeights.ts).
import * as Comlink from 'comlink';
import type {
  Backend,
  FineTuneSettings,
  GenerateRequest,
  GenerateResult,
  HyperBoothWorkerApi,
  ImportCheckpointOptions,
  ImportCheckpointResult,
  ImportProgress,
  LidbInfo,
  LoadOptions,
  LoadPackResult,
  LoraFileFormat,
  PackProgress,
  PersonalizeProgress,
  PersonalizeResult,
  PreparedSelfie,
  SquareCrop,
  StepProgress,
  UseLoraOptions,
  UseLoraResult,
} from './api';
import { BackendHolder, type RuntimeFactory } from './backendHolder';
import { FaceDetector } from './faceDetector';
import { PersonalWeightsSlot } from './personalWeights';
import { TaskQueue } from './taskQueue';
import { crashIfArmed, faultHooks } from './faultHooks';
import { CacheStoragePackCache, type PackCache } from '../src/packs/cache';
import { loadPack, readManifest } from '../src/packs/loadPack';
import { checkPackFits } from '../src/packs/fit';
import { storedManifestUrl, storedPackFetch, storedPackId } from '../src/packs/storedPacks';
import type { LoadedPack } from '../src/packs/types';
import type { PackManifest } from '../src/packs/manifest';
import { CheckpointImport } from './checkpointImport';
import { chooseWebBackend } from '../src/runtime/backendChoice';
import { webgpuBufferLimits } from '../src/runtime/webgpuAdapter';
import { createWebRuntime } from '../src/runtime/webRuntime';
import { requiredWebgpuFeatures } from '../src/packs/webgpuFeatures';
import { watchWebgpuDevice } from '../src/runtime/webgpuDevice';
import { decodeImageBlob } from '../src/face/decodeBrowser';
import { locateFace } from '../src/face/faceStep';
import { cropToSquare } from '../src/face/crop';

const THUMBNAIL_SIZE = 64;
const NO_FACE_NOTICE = 'No face found: move the crop onto the face';

const webRuntime: RuntimeFactory = (prefer, pack) =>
  createWebRuntime({ prefer, requiredFeatures: prefer === 'webgpu' ? requiredWebgpuFeatures(pack.manifest.precision) : [] });

/** Everything this worker holds, in one object. */
const worker = {
  queue: new TaskQueue(),
  models: new BackendHolder(webRuntime),
  weights: new PersonalWeightsSlot(),
  faces: new FaceDetector(),
  /** one per generate() call not yet settled; cancelGenerate() aborts them all */
  generates: new Set<AbortController>(),
  imports: new CheckpointImport(),
};

/**
 * Progress callbacks are comlink proxies: each call is a message whose answer nobody needs, and
 * a page that went away must not turn into an unhandled rejection here. A caller may also pass
 * none (the benchmark drives the worker through page.evaluate, where it cannot make proxies).
 */
function notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
  if (typeof callback !== 'function') return;
  try {
    Promise.resolve(callback(value) as unknown).catch(() => undefined);
  } catch {
    // a callback that throws synchronously must not stop the models either
  }
}

let watchingDevice = false;

/** onnxruntime-web opens one device per worker: watched once, after the first WebGPU session. */
function watchDevice(): void {
  if (watchingDevice) return;
  watchingDevice = true;
  void watchWebgpuDevice((why) => worker.models.loseDevice(why)).catch(() => undefined);
}

/** A pack from its server (kept in Cache Storage), or one stored in this browser (read from OPFS only). */
async function fetchPack(ref: string, onProgress: (p: PackProgress) => void): Promise<LoadedPack> {
  const stored = storedPackId(ref);
  if (stored === undefined) return loadPack(ref, { cache: await openPackCache(), onProgress });
  const pack = await loadPack(storedManifestUrl(self.location.origin, stored), {
    fetch: storedPackFetch,
    onProgress: (p) => onProgress({ ...p, fromCache: true }),
  });
  return { ...pack, localBytes: pack.downloadedBytes, cachedBytes: pack.downloadedBytes, downloadedBytes: 0 };
}

/** The manifest alone (a pack stored in this browser: from OPFS), for the checks before loading. */
function fetchManifest(ref: string): Promise<PackManifest> {
  const stored = storedPackId(ref);
  return stored === undefined ? readManifest(ref) : readManifest(storedManifestUrl(self.location.origin, stored), storedPackFetch);
}

async function openPackCache(): Promise<PackCache | undefined> {
  try {
    return await CacheStoragePackCache.open();
  } catch {
    // Without Cache Storage the pack still loads; it is just downloaded again next time.
    return undefined;
  }
}

/** The backend the models are on, with the reason when it is not the preferred one. */
function backendReport(): { backend: Backend; notice?: string } {
  const backend = worker.models.backend ?? 'wasm';
  const notice = worker.models.notice;
  return notice ? { backend, notice } : { backend };
}

type SelfieInput = Parameters<HyperBoothWorkerApi['personalize']>[0];

function selfieImage(selfie: SelfieInput): { image: { width: number; height: number; data: Uint8ClampedArray }; crop: SquareCrop } {
  const { rgba, width, height, crop } = selfie ?? {};
  if (!(rgba instanceof Uint8ClampedArray) || !Number.isInteger(width) || !Number.isInteger(height) || rgba.length !== width * height * 4) {
    throw new Error('personalize: the selfie must be the RGBA pixels prepareSelfie returned (width × height × 4 bytes)');
  }
  return { image: { width, height, data: rgba }, crop };
}

const api: HyperBoothWorkerApi = {
  loadPack(manifestUrl: string, options: LoadOptions, onProgress: (p: PackProgress) => void): Promise<LoadPackResult> {
    return worker.queue.run(async () => {
      await worker.models.unload();
      // a pack too large for this browser's backends is refused before any file is downloaded
      const limits = await webgpuBufferLimits();
      const fit = checkPackFits(await fetchManifest(manifestUrl), limits, options.backend);
      const pack = await fetchPack(manifestUrl, (p) => notify(onProgress, p));
      // software WebGPU → WASM; on a real GPU the faster of the two on a probe layer (src/runtime/backendChoice.ts);
      // a backend the pack does not fit is left out (without an adapter the choice says so itself)
      const webgpuUnfit = !!limits && !fit.webgpu.fits;
      const forced = options.backend ?? (webgpuUnfit ? 'wasm' : !fit.wasm.fits ? 'webgpu' : undefined);
      const choice = await chooseWebBackend({
        forced,
        manifest: pack.manifest,
        requiredFeatures: requiredWebgpuFeatures(pack.manifest.precision),
        open: (backend) => webRuntime(backend, pack),
      });
      const unfit = !options.backend && webgpuUnfit && !fit.webgpu.fits ? `WebGPU cannot take this pack: ${fit.webgpu.reason}. Running on WASM.` : undefined;
      await worker.models.load(pack, choice.backend, [unfit, choice.notice].filter(Boolean).join(' ') || undefined);
      if (worker.models.backend === 'webgpu') watchDevice();
      // personal weights belong to a pack: keep them only when they fit the new one
      worker.weights.refit(pack);
      const result: LoadPackResult = { manifest: pack.manifest, ...backendReport(), downloadedBytes: pack.downloadedBytes, cachedBytes: pack.cachedBytes };
      if (pack.warnings) result.warnings = pack.warnings;
      return result;
    });
  },

  generate(req: GenerateRequest, onStep: (p: StepProgress) => void): Promise<GenerateResult> {
    // made at the call, not in the queue, so a cancel also reaches a request still waiting there;
    // a GenerateCancelledError is no session failure, so withPipeline never retries it on WASM
    const controller = new AbortController();
    worker.generates.add(controller);
    return worker.queue.run(async () => {
      const started = performance.now();
      const images = await worker.models.withPipeline('generating', (pipeline) =>
        pipeline.generate({
          ...req,
          lora: worker.weights.slotsOver(req.lora),
          signal: controller.signal,
          onStep: (s) => {
            crashIfArmed();
            notify(onStep, { ...s, elapsedMs: performance.now() - started });
          },
        }),
      );
      const out: GenerateResult = { images, ...backendReport() };
      return Comlink.transfer(out, images.map((o) => o.rgba.buffer as ArrayBuffer));
    }).finally(() => worker.generates.delete(controller));
  },

  async cancelGenerate(): Promise<void> {
    // not queued: it must reach a generate() that is running (or waiting) in the queue
    for (const c of worker.generates) c.abort();
  },

  prepareSelfie(file: Blob): Promise<PreparedSelfie> {
    return worker.queue.run(async () => {
      if (!(file instanceof Blob)) throw new Error('prepareSelfie takes the photo as a File or Blob');
      const { image: decoded } = await decodeImageBlob(file);
      const face = await locateFace(await worker.faces.get(), decoded);
      const { image } = face;
      const out: PreparedSelfie = {
        width: image.width,
        height: image.height,
        rgba: image.data,
        crop: face.crop,
        faceFound: face.faceFound,
        faceScore: face.bestScore,
      };
      if (!face.faceFound) out.notice = NO_FACE_NOTICE;
      return Comlink.transfer(out, [image.data.buffer as ArrayBuffer]);
    });
  },

  personalize(selfie: SelfieInput, settings: FineTuneSettings, onProgress: (p: PersonalizeProgress) => void): Promise<PersonalizeResult> {
    const cancelled = worker.queue.cancelSignal();
    return worker.queue.run(async () => {
      const pack = worker.models.requirePack('personalizing');
      const { image, crop } = selfieImage(selfie);
      // checks the crop lies inside the photo before any model runs
      const thumb = cropToSquare(image, crop, THUMBNAIL_SIZE);
      const thumbnail = { width: thumb.width, height: thumb.height, rgba: thumb.data };
      const r = await worker.models.withPersonalizer('personalizing', (p) =>
        p.personalize({ image, crop }, { settings, onProgress: (x) => notify(onProgress, x), shouldStop: cancelled }),
      );
      const info = worker.weights.useLidb(pack, r.file);
      const out: PersonalizeResult = {
        lidb: r.file,
        info,
        thumbnail,
        losses: r.losses,
        settings: r.settings,
        ...backendReport(),
        timings: { ...r.timings, stepMs: r.stepMs },
      };
      if (r.stoppedEarly) out.stoppedEarly = r.stoppedEarly;
      return Comlink.transfer(out, [out.lidb.buffer as ArrayBuffer, thumbnail.rgba.buffer as ArrayBuffer]);
    });
  },

  async cancelPersonalize(): Promise<void> {
    worker.queue.cancelRunning();
  },

  usePersonalization(lidb: Uint8Array | null): Promise<LidbInfo | null> {
    return worker.queue.run(async () => {
      if (lidb === null || lidb === undefined) {
        worker.weights.clear();
        return null;
      }
      if (!(lidb instanceof Uint8Array)) throw new Error('usePersonalization takes the bytes of a .lidb.safetensors file (a Uint8Array) or null');
      return worker.weights.useLidb(worker.models.requirePack('using personal weights'), lidb);
    });
  },

  exportPersonalization(format: LoraFileFormat): Promise<Uint8Array> {
    return worker.queue.run(async () => {
      const bytes = worker.weights.export(worker.models.requirePack('exporting personal weights'), format);
      return Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);
    });
  },

  importCheckpoint(file: File, options: ImportCheckpointOptions, onProgress: (p: ImportProgress) => void): Promise<ImportCheckpointResult> {
    // queued: a conversion beside a generate() would hold both in memory
    const controller = worker.imports.begin();
    return worker.queue.run(() => worker.imports.run(file, options ?? {}, (p) => notify(onProgress, p), controller));
  },

  async cancelImport(): Promise<void> {
    // not queued: it must reach the import that is running (or waiting)
    worker.imports.cancel();
  },

  useLora(bytes: Uint8Array, options?: UseLoraOptions): Promise<UseLoraResult> {
    return worker.queue.run(async () => {
      if (!(bytes instanceof Uint8Array)) throw new Error('useLora takes the bytes of a kohya or PEFT .safetensors file (a Uint8Array)');
      return worker.weights.useLora(worker.models.requirePack('using a LoRA'), bytes, options?.strength ?? 1);
    });
  },
};

// the fault hooks are not queued: they must reach a worker that is busy
Comlink.expose({ ...api, ...faultHooks(() => worker.models.backend === 'webgpu') });
