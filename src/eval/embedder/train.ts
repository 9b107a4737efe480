// `hyperbooth eval train-embedder`: trains the identity embedder (model.ts) with the project's
// autodiff on training-split identities of world 0, each drawn in every style with its own
// pose, light, expression, outfit and background, so the only thing two images of one person
// share is the person. A batch is batch/2 people, each seen twice in two different styles.
// Runs through the shared training loop (Adam, checkpoints, --resume bit for bit); images are
// rendered on first use and kept.
import { identitySeed, photoSeed, renderStyled, sampleIdentity, STYLES, type Identity } from '../../dataset';
import type { SeededRandom } from '../../diffusion/random';
import type { RgbaImage } from '../../face/image';
import { buildGradientModel } from '../../autodiff';
import { encodeModel } from '../../onnx';
import { gradName } from '../../packs/graphIO';
import { liftInitializers, paramFeeds } from '../../training/lift';
import { cosineFactor, trainLoop, type TrainLoopResult } from '../../training/loop';
import type { ProgressSink } from '../../training/progress';
import type { Runtime } from '../../runtime/types';
import { buildEmbedderTrainGraph, EMBEDDER_IO, TINY_EMBEDDER, type EmbedderConfig, type LossConfig } from './model';
import { imageToPixels } from './pixels';

export interface EmbedderTrainOptions {
  out: string;
  steps: number;
  /** training identities, world 0 */
  ids: number;
  /** photos of each identity in each style (each its own photo seed) */
  photos: number;
  /** images per step: batch/views people × `views` styles */
  batch: number;
  /** images of one person in a batch, each in another style (2 = one positive per image) */
  views?: number;
  lr: number;
  /** 'cosine': the learning rate falls from lr to lr/100 over `decaySteps` steps (then stays) */
  schedule?: 'constant' | 'cosine';
  decaySteps?: number;
  seed: number;
  temperature: number;
  checkpointEvery: number;
  resume: boolean;
  config?: EmbedderConfig;
  progress?: ProgressSink;
}

export const EMBEDDER_TRAIN_DEFAULTS = { ids: 1000, photos: 3, batch: 32, views: 2, lr: 2e-3, seed: 0, temperature: 0.1, checkpointEvery: 100 } as const;

export const EMBEDDER_STAGE = 'identity-embedder';

/** The photo seed of photo `photo` of an identity in style index `s`: every style gets its own pose. */
export const trainingPhotoSeed = (idSeed: number, photo: number, s: number): number => photoSeed(idSeed, photo * STYLES.length + s);

export interface EmbedderTrainResult extends TrainLoopResult {
  params: Record<string, Float32Array>;
  /** the architecture trained (what the exported file must be built with) */
  config: EmbedderConfig;
}

export async function trainEmbedder(runtime: Runtime, o: EmbedderTrainOptions): Promise<EmbedderTrainResult> {
  const cfg = o.config ?? TINY_EMBEDDER;
  const views = o.views ?? 2;
  const schedule = o.schedule ?? 'constant';
  for (const [k, v] of [['--ids', o.ids], ['--photos', o.photos], ['--batch', o.batch], ['--views', views]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  }
  if (views < 2 || views > STYLES.length) throw new Error(`--views must be 2…${STYLES.length} (images of one person, each in another style), got ${views}`);
  if (o.batch < 2 * views || o.batch % views !== 0) throw new Error(`--batch must be a multiple of --views (${views}) holding at least 2 people, got ${o.batch}`);
  const people = o.batch / views;
  if (o.ids < people) throw new Error(`--ids must be at least batch/views = ${people}: a batch holds that many different people`);
  if (schedule === 'cosine' && !(Number.isInteger(o.decaySteps) && (o.decaySteps ?? 0) >= 1)) throw new Error('a cosine schedule needs --decay-steps, a positive integer');
  const loss: LossConfig = { temperature: o.temperature };
  const lifted = liftInitializers(buildEmbedderTrainGraph(cfg, loss, o.seed, o.batch));
  const names = Object.keys(lifted.params);
  const session = await runtime.createSession({
    name: 'identity embedder train',
    model: encodeModel(buildGradientModel(lifted.model, { of: [EMBEDDER_IO.loss], wrt: names })),
  });
  const identities: Identity[] = [];
  const idSeeds: number[] = [];
  for (let i = 0; i < o.ids; i++) { idSeeds.push(identitySeed('train', i, 0)); identities.push(sampleIdentity(idSeeds[i])); }
  const perId = o.photos * STYLES.length;
  const S = cfg.imageSize;
  // kept as the renderer's bytes (a quarter of the floats' memory: 1,000 people × 24 images is 390 MB)
  const cache = new Map<number, RgbaImage>();
  const imageOf = (item: number): RgbaImage => {
    let img = cache.get(item);
    if (!img) {
      const i = Math.floor(item / perId), r = item % perId, photo = Math.floor(r / STYLES.length), s = r % STYLES.length;
      img = renderStyled(identities[i], STYLES[s], trainingPhotoSeed(idSeeds[i], photo, s), S);
      cache.set(item, img);
    }
    return img;
  };
  const pixels = new Float32Array(o.batch * 3 * S * S);
  const positives = new Float32Array(o.batch * o.batch);
  const seed = { type: 'float32' as const, dims: [], data: new Float32Array([1]) };
  // settings a resume must share (the defaults of older runs are left out, so their checkpoints still resume)
  const extra = { ...(views !== 2 ? { views } : {}), ...(schedule !== 'constant' ? { schedule, decaySteps: o.decaySteps } : {}) };
  try {
    const result = await trainLoop({
      stage: EMBEDDER_STAGE,
      runDir: o.out,
      steps: o.steps,
      lr: o.lr,
      ...(schedule === 'cosine' ? { lrFactor: (step: number) => cosineFactor(step, o.decaySteps!) } : {}),
      seed: o.seed,
      params: lifted.params,
      config: { cfg, ids: o.ids, photos: o.photos, batch: o.batch, lr: o.lr, seed: o.seed, temperature: o.temperature, ...extra },
      checkpointEvery: o.checkpointEvery,
      resume: o.resume,
      progress: o.progress,
      step: async (rng: SeededRandom) => {
        positives.fill(0);
        const chosen = new Set<number>();
        for (let k = 0; k < people; k++) {
          let i: number;
          do i = Math.min(o.ids - 1, Math.floor(rng.random() * o.ids)); while (chosen.has(i));
          chosen.add(i);
          // `views` different styles: a partial Fisher-Yates shuffle of the style indices
          const styles = STYLES.map((_, s) => s);
          for (let v = 0; v < views; v++) {
            const j = v + Math.min(STYLES.length - 1 - v, Math.floor(rng.random() * (STYLES.length - v)));
            [styles[v], styles[j]] = [styles[j], styles[v]];
          }
          for (let v = 0; v < views; v++) {
            const photo = Math.min(o.photos - 1, Math.floor(rng.random() * o.photos));
            imageToPixels(imageOf(i * perId + photo * STYLES.length + styles[v]), pixels, (views * k + v) * 3 * S * S);
          }
          // each image's positives share its softmax target equally (supervised contrastive loss)
          for (let a = 0; a < views; a++) for (let c = 0; c < views; c++) {
            if (a !== c) positives[(views * k + a) * o.batch + views * k + c] = 1 / (views - 1);
          }
        }
        const out = await session.run({
          [EMBEDDER_IO.input]: { type: 'float32', dims: [o.batch, 3, S, S], data: pixels },
          [EMBEDDER_IO.positives]: { type: 'float32', dims: [o.batch, o.batch], data: positives },
          [gradName(EMBEDDER_IO.loss)]: seed,
          ...paramFeeds(lifted.params, lifted.dims),
        }, [EMBEDDER_IO.loss, ...names.map(gradName)]);
        const grads = Object.fromEntries(names.map((n) => [n, Float32Array.from(out[gradName(n)].data as Float32Array)]));
        return { loss: (out[EMBEDDER_IO.loss].data as Float32Array)[0], grads };
      },
    });
    return { ...result, params: lifted.params, config: cfg };
  } finally {
    await session.release();
  }
}
