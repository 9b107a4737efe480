// Selfie crop → personal weights (HyperDreamBooth): the hypernetwork predicts a rank-1 LiDB from
// the face crop, the relaxation (./relaxation.ts) raises the rank — by default the paper's
// full-space residual LoRA beside the merged prediction — and a few Adam steps of the plain
// denoising loss on the one photo ("a <trigger> face", t ~ U[0, T), ε ~ N(0, I)) sharpen it. Sees only the Runtime interface, like generate(): the worker runs it on onnxruntime-web
// (WebGPU/WASM), the tests and tools on onnxruntime-node.
import { SeededRandom } from '../diffusion/random';
import { cropToSquare, resizeSquare, toPixelValues, type SquareCrop } from '../face/crop';
import type { RgbaImage as FaceImage } from '../face/image';
import type { AuxBases } from '../lidb/aux';
import { initLidb, lidbFromRows, type Lidb } from '../lidb/lidb';
import type { PersonalWeights } from '../lidb/personal';
import { writePersonalFile } from '../lidb/personalFile';
import { LidbRng } from '../lidb/random';
import { HYPERNET_IO } from '../packs/graphIO';
import type { PackManifest } from '../packs/manifest';
import type { PackContents } from '../packs/types';
import type { Runtime } from '../runtime/types';
import { Adam } from './adam';
import { drawNoise, type NoiseDraw } from './draws';
import { denoisingLoss } from './evaluate';
import { openFineTuneGraphs, personalizePrompt, requireTrainGraphs } from './fineTuneGraphs';
import { cloneLidb, firstNonFinite } from './lidbParams';
import { DEFAULT_RELAXATION, relax, RELAXATIONS, type Relaxation } from './relaxation';
import { slotTrainStep } from './trainStep';

export interface FineTuneSettings {
  steps: number;
  learningRate: number;
  /** the relaxed rank: of the full-space residual, or of the LiDB itself in the aux subspace */
  rank: number;
  seed: number;
  /** how the rank is relaxed (default 'full-space', the paper's) */
  relaxation?: Relaxation;
}

export type PersonalizeStage = 'hypernetwork' | 'vae-encode' | 'fine-tune' | 'done';

export interface PersonalizeProgress {
  stage: PersonalizeStage;
  /** fine-tune steps done (0 before the fine-tune) and how many were asked for */
  step: number;
  steps: number;
  /** denoising loss of this fine-tune step (before its update) */
  loss?: number;
  /** estimated milliseconds left, from the mean step time so far */
  etaMs?: number;
}

export interface FineTuneOptions {
  settings: FineTuneSettings;
  onProgress?: (p: PersonalizeProgress) => void;
  /** checked before every step: true ends the fine-tune with the weights of the last finished step */
  shouldStop?: () => boolean;
}

export interface FineTuneOutcome extends PersonalWeights {
  /** the last good weights: `lidb`, and `residual` after a full-space relaxation */
  /** loss of every finished step, before its update */
  losses: number[];
  /** 'cancelled', or why a non-finite value stopped it and which step's weights were kept */
  stoppedEarly?: string;
  /** wall time of each finished step */
  stepMs: number[];
}

export interface PersonalizeOptions extends FineTuneOptions {
  /** shown by apps; stored in the LiDB file */
  name?: string;
}

/** A photo and the square the person confirmed on it (pixels of that photo). */
export interface FaceCropInput {
  image: FaceImage;
  crop: SquareCrop;
}

export interface Personalization extends FineTuneOutcome {
  /** the `.lidb.safetensors` bytes of the weights */
  file: Uint8Array;
  /** the relaxed prediction the fine-tune started from (same model output as the prediction) */
  start: PersonalWeights;
  /** VAE mean × latent scale of the crop: what the fine-tune denoised */
  latent: Float32Array;
  settings: FineTuneSettings;
  timings: { hypernetworkMs: number; vaeEncodeMs: number };
}

export interface Personalizer {
  readonly manifest: PackManifest;
  readonly aux: AuxBases;
  /** the hypernetwork's rank-1 LiDB for a square face image (a fresh initLidb when the pack has no hypernetwork) */
  predict(face: FaceImage, seed?: number): Promise<Lidb>;
  /** VAE mean × latent scale of a square face image, resampled to the pack's image size */
  encodeLatent(face: FaceImage): Promise<Float32Array>;
  /** relaxes `prediction` (not modified) as the settings say, then Adam towards the denoising loss on `latent` */
  fineTune(prediction: Lidb, latent: Float32Array, opts: FineTuneOptions): Promise<FineTuneOutcome>;
  personalize(input: FaceCropInput, opts: PersonalizeOptions): Promise<Personalization>;
  /** the denoising loss over `draws`, measured with the plain forward graphs */
  denoisingLoss(weights: PersonalWeights, latent: Float32Array, draws: readonly NoiseDraw[]): Promise<number>;
  /** opens the fine-tune's train graphs (when the pack has them) now rather than at the first fine-tune, so a backend that refuses them says so here */
  prepare(): Promise<void>;
  release(): Promise<void>;
}

export const FINE_TUNE_LIMITS = { maxSteps: 10_000, maxRank: 64 } as const;

export function validateFineTuneSettings(s: FineTuneSettings): void {
  if (!s || typeof s !== 'object') throw new Error('fine-tune settings are missing');
  if (!Number.isInteger(s.steps) || s.steps < 0 || s.steps > FINE_TUNE_LIMITS.maxSteps) throw new Error(`fine-tune steps must be an integer in 0..${FINE_TUNE_LIMITS.maxSteps}, got ${s.steps}`);
  if (!Number.isInteger(s.rank) || s.rank < 1 || s.rank > FINE_TUNE_LIMITS.maxRank) throw new Error(`fine-tune rank must be an integer in 1..${FINE_TUNE_LIMITS.maxRank}, got ${s.rank}`);
  if (typeof s.learningRate !== 'number' || !(s.learningRate > 0) || s.learningRate > 1) throw new Error(`learning rate must be a number in (0, 1], got ${s.learningRate}`);
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) throw new Error(`seed must be a non-negative integer, got ${s.seed}`);
  if (s.relaxation !== undefined && !RELAXATIONS.includes(s.relaxation)) throw new Error(`relaxation must be one of ${RELAXATIONS.join(', ')}, got ${JSON.stringify(s.relaxation)}`);
}

export async function createPersonalizer(runtime: Runtime, pack: PackContents): Promise<Personalizer> {
  const graphs = openFineTuneGraphs(runtime, pack);
  const { manifest, aux, encodeLatent } = graphs;
  const layers = manifest.lora.layers;

  const predict = async (face: FaceImage, seed = 0): Promise<Lidb> => {
    const h = manifest.hypernet;
    // without a hypernetwork: ΔW = 0 with D_train random, so both factors get gradients
    if (!h) return initLidb(layers, 1, new LidbRng(seed, 'init'));
    const session = await graphs.hypernet();
    const pixels = toPixelValues(resizeSquare(face, h.imageSize), h.normalize);
    const out = await session.run({ [HYPERNET_IO.input]: { type: 'float32', dims: [1, 3, h.imageSize, h.imageSize], data: pixels } }, [HYPERNET_IO.down, HYPERNET_IO.up]);
    return lidbFromRows(layers, out[HYPERNET_IO.down].data as Float32Array, out[HYPERNET_IO.up].data as Float32Array, manifest.lidb!.aMax, manifest.lidb!.bMax);
  };

  const relaxed = (prediction: Lidb, settings: FineTuneSettings) =>
    relax(prediction, { relaxation: settings.relaxation ?? DEFAULT_RELAXATION, rank: settings.rank, seed: settings.seed, aux, layers });

  const fineTune = async (prediction: Lidb, latent: Float32Array, opts: FineTuneOptions): Promise<FineTuneOutcome> => {
    const { settings } = opts;
    validateFineTuneSettings(settings);
    requireTrainGraphs(manifest, settings.steps);
    // nothing to relax for: the prediction alone (a hypernetwork-only pack, or 0 steps asked)
    if (settings.steps === 0) return { lidb: cloneLidb(prediction), losses: [], stepMs: [] };
    const sessions = await graphs.train();
    const ctx = graphs.context(latent);
    const weights = relaxed(prediction, settings);
    const { params } = weights;
    const adam = new Adam(params, { lr: settings.learningRate });
    const rng = new SeededRandom(settings.seed);
    const size = latent.length;
    const losses: number[] = [];
    const stepMs: number[] = [];
    const outcome = (stoppedEarly?: string): FineTuneOutcome => ({ ...weights.snapshot(), losses, stepMs, ...(stoppedEarly ? { stoppedEarly } : {}) });

    for (let step = 1; step <= settings.steps; step++) {
      // onnxruntime-web's run() settles through microtasks only: without a macrotask break the
      // worker would not see a cancel message until the whole fine-tune is over
      await nextMacrotask();
      if (opts.shouldStop?.()) return outcome('cancelled');
      const t0 = now();
      const draw = drawNoise(rng, manifest.schedule.numTrainTimesteps, size);
      const { loss, slotGrads } = await slotTrainStep(sessions, ctx, weights.slots(), draw);
      const restored = `restored step ${step - 1}`;
      if (!Number.isFinite(loss)) return outcome(`non-finite loss at step ${step}: ${restored}`);
      const g = weights.paramGrads(slotGrads);
      const bad = firstNonFinite(g);
      if (bad) return outcome(`non-finite gradient at step ${step} (${bad}): ${restored}`);
      const before = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.slice()]));
      adam.step(g);
      const blown = firstNonFinite(params);
      if (blown) {
        for (const [k, v] of Object.entries(before)) params[k].set(v);
        return outcome(`non-finite weights after step ${step} (${blown}): ${restored}`);
      }
      losses.push(loss);
      stepMs.push(now() - t0);
      const mean = stepMs.reduce((a, b) => a + b, 0) / stepMs.length;
      opts.onProgress?.({ stage: 'fine-tune', step, steps: settings.steps, loss, etaMs: mean * (settings.steps - step) });
    }
    return outcome();
  };

  return {
    manifest,
    aux,
    predict,
    encodeLatent,
    fineTune,

    async prepare() {
      if (manifest.train) await graphs.train();
    },

    async personalize(input, opts) {
      const { settings } = opts;
      validateFineTuneSettings(settings);
      requireTrainGraphs(manifest, settings.steps);
      const progress = (stage: PersonalizeStage, step = 0, extra: Partial<PersonalizeProgress> = {}) =>
        opts.onProgress?.({ stage, step, steps: settings.steps, ...extra });
      // each model's input is resampled from the photo itself, not from another resampled copy
      const vaeFace = cropToSquare(input.image, input.crop, manifest.image.width);
      const hyperFace = manifest.hypernet ? cropToSquare(input.image, input.crop, manifest.hypernet.imageSize) : vaeFace;

      progress('hypernetwork');
      let t0 = now();
      const predicted = await predict(hyperFace, settings.seed);
      const start = relaxed(predicted, settings).snapshot();
      const hypernetworkMs = now() - t0;

      progress('vae-encode');
      t0 = now();
      const latent = await encodeLatent(vaeFace);
      const vaeEncodeMs = now() - t0;

      progress('fine-tune');
      const result = await fineTune(predicted, latent, opts);
      const file = writePersonalFile(result, {
        packId: manifest.id,
        auxSha256: manifest.lidb!.auxSha256,
        trigger: manifest.trigger,
        fineTune: {
          steps: settings.steps,
          stepsDone: result.losses.length,
          learningRate: settings.learningRate,
          rank: settings.rank,
          relaxation: settings.relaxation ?? DEFAULT_RELAXATION,
          optimizer: 'adam',
          prompt: personalizePrompt(manifest.trigger),
          start: manifest.hypernet ? 'hypernetwork' : 'init',
          ...(result.stoppedEarly ? { stoppedEarly: result.stoppedEarly } : {}),
          ...(result.losses.length ? { finalLoss: result.losses[result.losses.length - 1] } : {}),
        },
        seed: settings.seed,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
      });
      progress('done', result.losses.length, { etaMs: 0 });
      return { ...result, file, start, latent, settings: { ...settings }, timings: { hypernetworkMs, vaeEncodeMs } };
    },

    async denoisingLoss(weights, latent, draws) {
      return denoisingLoss(await graphs.forward(), graphs.context(latent), weights, draws);
    },

    release: () => graphs.release(),
  };
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

const now = (): number => globalThis.performance?.now() ?? Date.now();
