// The paper's Table 1 on the synthetic world: for held-out identities, each personalization
// method makes a LiDB from one reference selfie, the pack generates the identity in several
// styles, and the scorers rate identity fidelity, style fidelity and similarity to the reference.
import { caption, identitySeed, photoSeed, renderPhoto, renderStyled, sampleIdentity, STYLES, type Style } from '../dataset';
import type { RgbaImage } from '../face/image';
import { initLidb, type Lidb } from '../lidb/lidb';
import { personalSlots, type PersonalWeights } from '../lidb/personal';
import type { Relaxation } from '../finetune/relaxation';
import { LidbRng } from '../lidb/random';
import type { PackContents } from '../packs/types';
import { createPersonalizer } from '../finetune/personalize';
import { createPipeline, type GeneratedImage } from '../pipeline/pipeline';
import type { LoraValues } from '../pipeline/lora';
import type { SchedulerName } from '../diffusion/schedulers';
import type { Runtime } from '../runtime/types';
import { cosine } from './features';
import type { Scorers } from './scorers';

export const METHODS = ['base', 'only-hyper', 'hyperdreambooth', 'no-hyper', 'dreambooth-400'] as const;
export type Method = (typeof METHODS)[number];

export const DEFAULT_EVAL_STYLES: readonly Style[] = ['photo', 'pencil-sketch', 'pop-art', 'watercolor'];

export interface EvalSettings {
  ids: number;
  /** world seed of the held-out identities */
  seed: number;
  stepsImage: number;
  ftSteps: number;
  dbSteps: number;
  learningRate: number;
  rank: number;
  guidance: number;
  scheduler: SchedulerName;
  styles: readonly Style[];
}

export const DEFAULT_EVAL: Omit<EvalSettings, 'ids' | 'seed'> = {
  stepsImage: 10,
  ftSteps: 40,
  dbSteps: 400,
  learningRate: 1e-3,
  rank: 4,
  guidance: 7.5,
  scheduler: 'ddim',
  styles: DEFAULT_EVAL_STYLES,
};

export interface MethodScores {
  /** mean cosine of recognizer embeddings, generated vs reference photo: [-1, 1] */
  identity: number;
  /** mean probability of the requested style: [0, 1] */
  style: number;
  /** mean cosine of generic descriptors, generated vs reference: [-1, 1] */
  similarity: number;
  /** mean personalization time per identity (hypernetwork, VAE encode, fine-tune), without image generation */
  seconds: number;
}

export interface EvalResult {
  methods: Record<Method, MethodScores>;
  ids: number;
  seed: number;
}

export interface EvalProgress { identity: number; ids: number; method: Method; phase: 'personalize' | 'generate' }

/** Every image the evaluation made for one held-out identity, in METHODS order, styles in settings order. */
export interface IdentityImages { identity: number; reference: RgbaImage; methods: Record<Method, RgbaImage[]> }

export function validateEvalSettings(s: EvalSettings): void {
  const int = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  int('--ids', s.ids, 1, 10_000);
  int('--seed', s.seed, 0, 262_143);
  int('--steps-image', s.stepsImage, 1, 1000);
  int('--ft-steps', s.ftSteps, 0, 10_000);
  int('--db-steps', s.dbSteps, 0, 10_000);
  int('--rank', s.rank, 1, 64);
  if (!(s.learningRate > 0 && s.learningRate <= 1)) throw new Error(`--lr must be in (0, 1], got ${s.learningRate}`);
  if (!(s.guidance >= 0) || !Number.isFinite(s.guidance)) throw new Error(`--guidance must be a finite number ≥ 0, got ${s.guidance}`);
  if (!s.styles.length) throw new Error('at least one style is needed');
  for (const st of s.styles) if (!(STYLES as readonly string[]).includes(st)) throw new Error(`unknown style '${st}' (styles: ${STYLES.join(', ')})`);
}

const now = (): number => globalThis.performance?.now() ?? Date.now();

export async function runEvaluation(
  runtime: Runtime,
  pack: PackContents,
  scorers: Scorers,
  settings: EvalSettings,
  onProgress?: (p: EvalProgress) => void,
  onImages?: (images: IdentityImages) => void,
): Promise<EvalResult> {
  validateEvalSettings(settings);
  const { manifest } = pack;
  if (manifest.image.width !== manifest.image.height) throw new Error(`eval needs a square image size, the pack's is ${manifest.image.width}×${manifest.image.height}`);
  const pipeline = await createPipeline(runtime, pack);
  const personalizer = await createPersonalizer(runtime, pack);
  const sums = Object.fromEntries(METHODS.map((m) => [m, { identity: 0, style: 0, similarity: 0, seconds: 0, images: 0 }])) as Record<Method, MethodScores & { images: number }>;
  const layers = manifest.lora.layers;
  const fineTune = async (prediction: Lidb, face: RgbaImage, steps: number, seed: number, relaxation: Relaxation): Promise<PersonalWeights> => {
    const latent = await personalizer.encodeLatent(face);
    const out = await personalizer.fineTune(prediction, latent, { settings: { steps, learningRate: settings.learningRate, rank: settings.rank, seed, relaxation } });
    if (out.stoppedEarly) throw new Error(`fine-tune stopped early: ${out.stoppedEarly}`);
    return out;
  };
  // each method: the personal weights (or none for the base model) from the reference selfie
  const personalize: Record<Method, (face: RgbaImage, seed: number) => Promise<PersonalWeights | undefined>> = {
    base: async () => undefined,
    'only-hyper': async (face, seed) => ({ lidb: await personalizer.predict(face, seed) }),
    hyperdreambooth: async (face, seed) => fineTune(await personalizer.predict(face, seed), face, settings.ftSteps, seed, 'full-space'),
    // the same fine-tune from a prediction of zero (D random, U zero)
    'no-hyper': (face, seed) => fineTune(initLidb(layers, 1, new LidbRng(seed, 'init')), face, settings.ftSteps, seed, 'full-space'),
    // a LiDB trained from zero inside the aux subspace for many steps (not DreamBooth's full fine-tune)
    'dreambooth-400': (face, seed) => fineTune(initLidb(layers, settings.rank, new LidbRng(seed, 'init')), face, settings.dbSteps, seed, 'aux-subspace'),
  };
  try {
    // open every session before timing, so the first method measured does not pay for it
    const warm = renderPhoto(sampleIdentity(identitySeed('heldout', 0, settings.seed)), 0, { size: manifest.image.width });
    await personalizer.predict(warm, 0);
    await personalizer.encodeLatent(warm);
    await personalizer.prepare();
    for (let i = 0; i < settings.ids; i++) {
      const idSeed = identitySeed('heldout', i, settings.seed);
      const identity = sampleIdentity(idSeed);
      const reference = renderPhoto(identity, photoSeed(idSeed, 0), { size: manifest.image.width });
      const refIdentity = scorers.identity(reference);
      const refDescriptor = scorers.descriptor(reference);
      const prompts = settings.styles.map((s) => caption(identity, s, { subject: `a ${manifest.trigger} face` }));
      const made = {} as Record<Method, RgbaImage[]>;
      for (const method of METHODS) {
        onProgress?.({ identity: i, ids: settings.ids, method, phase: 'personalize' });
        const t0 = now();
        const weights = await personalize[method](reference, i);
        sums[method].seconds += (now() - t0) / 1000;
        const lora: LoraValues | undefined = weights ? personalSlots(weights, personalizer.aux, layers) : undefined;
        onProgress?.({ identity: i, ids: settings.ids, method, phase: 'generate' });
        // the same noise seeds for every method, so only the LiDB differs
        const images: GeneratedImage[] = await pipeline.generate({
          prompts, seed: 1000 * i, steps: settings.stepsImage, guidance: settings.guidance, scheduler: settings.scheduler, ...(lora ? { lora } : {}),
        });
        made[method] = images.map((g) => ({ width: g.width, height: g.height, data: g.rgba }));
        made[method].forEach((img, k) => {
          const s = sums[method];
          s.identity += cosine(scorers.identity(img), refIdentity);
          s.style += scorers.styleProbabilities(img)[STYLES.indexOf(settings.styles[k])];
          s.similarity += cosine(scorers.descriptor(img), refDescriptor);
          s.images++;
        });
      }
      onImages?.({ identity: i, reference, methods: made });
    }
  } finally {
    await pipeline.release();
    await personalizer.release();
  }
  const methods = Object.fromEntries(METHODS.map((m) => {
    const s = sums[m];
    return [m, { identity: s.identity / s.images, style: s.style / s.images, similarity: s.similarity / s.images, seconds: s.seconds / settings.ids }];
  })) as Record<Method, MethodScores>;
  return { methods, ids: settings.ids, seed: settings.seed };
}

/**
 * The scores of the renderer's own images of each held-out identity in each requested style
 * (another pose than the reference): what a perfect personalization would reach with these
 * scorers, printed under the table so its numbers have a scale.
 */
/** The renderer's own images of held-out identity `i` in each style (other poses than the selfie). */
export function renderedStyles(i: number, settings: Pick<EvalSettings, 'seed' | 'styles'>, size: number): RgbaImage[] {
  const idSeed = identitySeed('heldout', i, settings.seed);
  const id = sampleIdentity(idSeed);
  return settings.styles.map((s, k) => renderStyled(id, s, photoSeed(idSeed, 1 + k), size));
}

export function scoreRenderedUpperBound(scorers: Scorers, settings: Pick<EvalSettings, 'ids' | 'seed' | 'styles'>, size: number): Omit<MethodScores, 'seconds'> {
  let identity = 0, style = 0, similarity = 0, n = 0;
  for (let i = 0; i < settings.ids; i++) {
    const idSeed = identitySeed('heldout', i, settings.seed);
    const id = sampleIdentity(idSeed);
    const reference = renderPhoto(id, photoSeed(idSeed, 0), { size });
    renderedStyles(i, settings, size).forEach((img, k) => {
      const s = settings.styles[k];
      identity += cosine(scorers.identity(img), scorers.identity(reference));
      style += scorers.styleProbabilities(img)[STYLES.indexOf(s)];
      similarity += cosine(scorers.descriptor(img), scorers.descriptor(reference));
      n++;
    });
  }
  return { identity: identity / n, style: style / n, similarity: similarity / n };
}

export function formatTable(result: EvalResult, upperBound?: Omit<MethodScores, 'seconds'>): string {
  const head = `${'method'.padEnd(16)} ${'identity'.padStart(9)} ${'style'.padStart(7)} ${'similarity'.padStart(11)} ${'seconds/id'.padStart(11)}`;
  const rows = METHODS.map((m) => {
    const s = result.methods[m];
    return `${m.padEnd(16)} ${s.identity.toFixed(3).padStart(9)} ${s.style.toFixed(3).padStart(7)} ${s.similarity.toFixed(3).padStart(11)} ${s.seconds.toFixed(2).padStart(11)}`;
  });
  if (upperBound) {
    const u = upperBound;
    rows.push(`${'(renders)'.padEnd(16)} ${u.identity.toFixed(3).padStart(9)} ${u.style.toFixed(3).padStart(7)} ${u.similarity.toFixed(3).padStart(11)} ${'-'.padStart(11)}`);
  }
  return [head, ...rows].join('\n');
}
