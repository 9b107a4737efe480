// `hyperbooth eval train-embedder`: trains the identity embedder (model.ts) with the project's
// autodiff on training-split identities of world 0, each drawn in every style with its own
// pose, light, expression, outfit and background, so the only thing two images of one person
// share is the person. A batch is batch/2 people, each seen twice in two different styles.
// Runs through the shared training loop (Adam, checkpoints, --resume bit for bit); images are
// rendered on first use and kept.
import { identitySeed, photoSeed, renderStyled, sampleIdentity, STYLES, type Identity } from '../../dataset';
import type { SeededRandom } from '../../diffusion/random';
import { buildGradientModel } from '../../autodiff';
import { encodeModel } from '../../onnx';
import { gradName } from '../../packs/graphIO';
import { liftInitializers, paramFeeds } from '../../training/lift';
import { trainLoop, type TrainLoopResult } from '../../training/loop';
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
  /** images per step: batch/2 people × 2 styles */
  batch: number;
  lr: number;
  seed: number;
  temperature: number;
  checkpointEvery: number;
  resume: boolean;
  config?: EmbedderConfig;
  progress?: ProgressSink;
}

export const EMBEDDER_TRAIN_DEFAULTS = { ids: 1000, photos: 3, batch: 32, lr: 2e-3, seed: 0, temperature: 0.1, checkpointEvery: 100 } as const;

export const EMBEDDER_STAGE = 'identity-embedder';

/** The photo seed of photo `photo` of an identity in style index `s`: every style gets its own pose. */
export const trainingPhotoSeed = (idSeed: number, photo: number, s: number): number => photoSeed(idSeed, photo * STYLES.length + s);

export interface EmbedderTrainResult extends TrainLoopResult {
  params: Record<string, Float32Array>;
}

export async function trainEmbedder(runtime: Runtime, o: EmbedderTrainOptions): Promise<EmbedderTrainResult> {
  const cfg = o.config ?? TINY_EMBEDDER;
  for (const [k, v] of [['--ids', o.ids], ['--photos', o.photos], ['--batch', o.batch]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  }
  if (o.batch < 4 || o.batch % 2 !== 0) throw new Error(`--batch must be an even number ≥ 4 (pairs of images of one person), got ${o.batch}`);
  if (o.ids < o.batch / 2) throw new Error(`--ids must be at least batch/2 = ${o.batch / 2}: a batch holds that many different people`);
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
  const cache = new Map<number, Float32Array>();
  const imageOf = (item: number): Float32Array => {
    let px = cache.get(item);
    if (!px) {
      const i = Math.floor(item / perId), r = item % perId, photo = Math.floor(r / STYLES.length), s = r % STYLES.length;
      px = imageToPixels(renderStyled(identities[i], STYLES[s], trainingPhotoSeed(idSeeds[i], photo, s), S));
      cache.set(item, px);
    }
    return px;
  };
  const pixels = new Float32Array(o.batch * 3 * S * S);
  const positives = new Float32Array(o.batch * o.batch);
  const seed = { type: 'float32' as const, dims: [], data: new Float32Array([1]) };
  try {
    const result = await trainLoop({
      stage: EMBEDDER_STAGE,
      runDir: o.out,
      steps: o.steps,
      lr: o.lr,
      seed: o.seed,
      params: lifted.params,
      config: { cfg, ids: o.ids, photos: o.photos, batch: o.batch, lr: o.lr, seed: o.seed, temperature: o.temperature },
      checkpointEvery: o.checkpointEvery,
      resume: o.resume,
      progress: o.progress,
      step: async (rng: SeededRandom) => {
        positives.fill(0);
        const people = new Set<number>();
        for (let k = 0; k < o.batch / 2; k++) {
          let i: number;
          do i = Math.min(o.ids - 1, Math.floor(rng.random() * o.ids)); while (people.has(i));
          people.add(i);
          const s1 = Math.min(STYLES.length - 1, Math.floor(rng.random() * STYLES.length));
          const s2 = (s1 + 1 + Math.min(STYLES.length - 2, Math.floor(rng.random() * (STYLES.length - 1)))) % STYLES.length;
          [s1, s2].forEach((s, t) => {
            const photo = Math.min(o.photos - 1, Math.floor(rng.random() * o.photos));
            pixels.set(imageOf(i * perId + photo * STYLES.length + s), (2 * k + t) * 3 * S * S);
          });
          positives[2 * k * o.batch + 2 * k + 1] = 1;
          positives[(2 * k + 1) * o.batch + 2 * k] = 1;
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
    return { ...result, params: lifted.params };
  } finally {
    await session.release();
  }
}
