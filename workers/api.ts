// The one typed interface between the UI and the worker (through comlink). The UI imports only
// these types; everything behind them (onnxruntime-web, the pipeline) lives in the worker.
import type { SquareCrop } from '../src/face/crop';
import type { PackManifest } from '../src/packs/manifest';
import type { GenerateOptions, GeneratedImage, StepInfo } from '../src/pipeline/pipeline';
import type { FineTuneSettings, PersonalizeProgress } from '../src/finetune/personalize';

export type { SquareCrop } from '../src/face/crop';
export type { GeneratedImage } from '../src/pipeline/pipeline';

export type { LoraValues, LoraSlotValue } from '../src/pipeline/lora';

export type Backend = 'webgpu' | 'wasm';

export interface PackProgress {
  /** file being fetched (relative to the pack) */
  file: string;
  loadedBytes: number;
  totalBytes: number;
  /** true when the bytes came from the cache, not the network */
  fromCache: boolean;
}

export interface LoadPackResult {
  manifest: PackManifest;
  backend: Backend;
  /** e.g. "WebGPU is not available here: running on WASM (slower)" */
  notice?: string;
  /** bytes fetched from the network during this load (0 when all came from the cache) */
  downloadedBytes: number;
  /** bytes of pack files read from the cache during this load */
  cachedBytes?: number;
  /** what went wrong without stopping the load (e.g. the pack could not be kept for offline use, and why) */
  warnings?: string[];
}

export type { SchedulerName } from '../src/diffusion/schedulers';

/** generate()'s request: the pipeline's options less the step callback, which comlink passes apart, and the signal (cancelGenerate() is its door). */
export type GenerateRequest = Omit<GenerateOptions, 'onStep' | 'signal'>;

/** The pipeline's step report, with the worker's clock. */
export interface StepProgress extends StepInfo {
  /** milliseconds since this generate() call started, measured in the worker */
  elapsedMs?: number;
}

export interface GenerateResult {
  images: GeneratedImage[];
  /** the backend that made the images (differs from loadPack's when WebGPU failed mid-run) */
  backend: Backend;
  /** why `backend` is not the preferred one, when it is not */
  notice?: string;
}

export interface LoadOptions {
  /** force a backend (tests use this to compare WebGPU and WASM) */
  backend?: Backend;
}

export interface HyperBoothWorkerApi extends PersonalizationApi, CheckpointImportApi {
  /** `manifestUrl`: a pack's manifest.json URL, or a pack stored in this browser (storedPackRef in src/packs/storedPacks.ts), read from there only */
  loadPack(manifestUrl: string, options: LoadOptions, onProgress: (p: PackProgress) => void): Promise<LoadPackResult>;
  generate(req: GenerateRequest, onStep: (p: StepProgress) => void): Promise<GenerateResult>;
  /** stops every generate() running or queued: each rejects with a GenerateCancelledError and returns no image */
  cancelGenerate(): Promise<void>;
}

// ---- Personalization (issue 4): selfie → face crop → hypernetwork → fine-tune → LiDB ----

export interface PreparedSelfie {
  /** the decoded, EXIF-rotated, shrunk photo the crop refers to */
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  /** first crop: around the best face, or a centre-weighted guess */
  crop: SquareCrop;
  faceFound: boolean;
  /** detector score of the best face (0..1) */
  faceScore: number;
  /** human sentence when no face was found ("No face found: move the crop onto the face") */
  notice?: string;
}

export type { FineTuneSettings, PersonalizeStage, PersonalizeProgress } from '../src/finetune/personalize';

/** What a LiDB file says about itself, read by the worker from the file's metadata. */
export interface LidbInfo {
  packId: string;
  trigger: string;
  rank: number;
  /** the fine-tune's seed */
  seed: number;
  /** the display name stored in the file, when it has one */
  name?: string;
  /** the fine-tune's settings, when the file records all four */
  settings?: FineTuneSettings;
  /** fine-tune steps actually run, when the file says */
  stepsDone?: number;
  /** why the fine-tune ended early, when the file says it did */
  stoppedEarly?: string;
  /** rank of the full-space residual beside the LiDB (the paper's relaxation), when the file has one */
  residualRank?: number;
  /** the file's size in bytes (the residual makes it larger than the ~100 KB LiDB) */
  fileBytes?: number;
}

export interface PersonalizeResult {
  /** the `.lidb.safetensors` bytes (format hyperbooth-lidb/1) of the personal weights */
  lidb: Uint8Array;
  /** what `lidb` says about itself (the same as usePersonalization(lidb) would return) */
  info: LidbInfo;
  /** 64×64-ish RGBA thumbnail of the crop */
  thumbnail: { width: number; height: number; rgba: Uint8ClampedArray };
  losses: number[];
  /** why the fine-tune ended early, when it did: 'cancelled' or 'non-finite loss at step N: restored step N-1' */
  stoppedEarly?: string;
  settings: FineTuneSettings;
  /** the backend the fine-tune ran on (WASM when WebGPU failed during it) */
  backend?: Backend;
  /** why `backend` is not the one loadPack reported, when it is not */
  notice?: string;
  /** worker-side milliseconds of each stage (the benchmark reads them) */
  timings?: { hypernetworkMs: number; vaeEncodeMs: number; stepMs: number[] };
}

export type LoraFileFormat = 'lidb' | 'kohya' | 'peft';

export interface PersonalizationApi {
  prepareSelfie(file: Blob): Promise<PreparedSelfie>;
  /**
   * Runs on the loaded pack's backend (manifest.train.defaults has the pack's default settings).
   * The result also becomes the active personalization, as usePersonalization(result.lidb) would.
   * A pack with a hypernetwork but no fine-tune graphs takes `settings.steps = 0` only: the
   * result is then the hypernetwork's prediction at the relaxed rank.
   */
  personalize(
    selfie: { rgba: Uint8ClampedArray; width: number; height: number; crop: SquareCrop },
    settings: FineTuneSettings,
    onProgress: (p: PersonalizeProgress) => void,
  ): Promise<PersonalizeResult>;
  /** stops a running personalize(); it resolves with the last good weights */
  cancelPersonalize(): Promise<void>;
  /**
   * validates a .lidb.safetensors against the active pack and makes it the active personalization:
   * generate() then adds its slots (a request's own `lora` entries win per layer); null clears it
   */
  usePersonalization(lidb: Uint8Array | null): Promise<LidbInfo | null>;
  /**
   * the active personalization as a file: LiDB itself, or multiplied out as kohya / PEFT LoRA
   * (an imported LoRA has no LiDB form: only kohya / PEFT)
   */
  exportPersonalization(format: LoraFileFormat): Promise<Uint8Array>;
  /**
   * reads a kohya or PEFT LoRA (.safetensors) for the loaded pack's layers and makes its slots
   * the active personal weights, replacing any active LiDB personalization (one set of personal
   * weights at a time); a file that does not fit throws a LoraFileError and changes nothing
   */
  useLora(bytes: Uint8Array, options?: UseLoraOptions): Promise<UseLoraResult>;
}

export interface UseLoraOptions {
  /** multiplies every layer's ΔW (A1111/ComfyUI's "LoRA weight"); default 1 */
  strength?: number;
}

export interface UseLoraResult {
  format: 'kohya' | 'peft' | 'mixed';
  /** how many of the pack's layers the LoRA sets */
  applied: number;
  /** how many LoRA layers the pack has */
  layers: number;
  /** modules of the file the pack has no slot for (not applied) */
  ignored: string[];
  warnings: string[];
  /** the highest rank among the applied layers */
  rank: number;
}

// ---- Models people have (issue 11): a .safetensors checkpoint → a pack stored in the browser ----

export interface ImportCheckpointOptions {
  /** image side in pixels (default SD1.x's 512), as the CLI's --image-size */
  imageSize?: number;
  /** weights stored as float16 (half the size), as the CLI's --fp16 */
  fp16?: boolean;
}

export interface ImportProgress {
  stage: 'index' | 'graphs' | 'text_encoder' | 'vae_decoder' | 'vae_encoder' | 'unet' | 'done';
  /** the stage in words ("UNet", "Building the graphs") */
  label: string;
  /** bytes of the checkpoint copied in this stage so far, of `total` */
  done: number;
  total: number;
}

export interface ImportCheckpointResult {
  id: string;
  /** what loadPack takes to load it (and what a pack choice records) */
  manifestUrl: string;
  name: string;
  /** the stored pack's bytes, manifest included */
  bytes: number;
  warnings: string[];
  /** what was read: layout, dtypes, schedule, tokenizer, ignored keys (the CLI prints the same) */
  log: string[];
}

export interface CheckpointImportApi {
  /**
   * converts a single-file SD1.x .safetensors checkpoint, read a tensor at a time, into a pack
   * stored in this browser (OPFS). A refused file throws a CheckpointError whose message says
   * why and what to use instead; a failed or cancelled import keeps nothing.
   */
  importCheckpoint(file: File, options: ImportCheckpointOptions, onProgress: (p: ImportProgress) => void): Promise<ImportCheckpointResult>;
  /** stops a running importCheckpoint(): it rejects with an ImportCancelledError and nothing is kept */
  cancelImport(): Promise<void>;
}
