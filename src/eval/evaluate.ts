// The paper's Table 1 on the synthetic world: for held-out identities, each personalization
// method (methods.ts) makes what the pack generates with from one reference selfie, the pack
// generates the identity in every style with several noise seeds, and the scorers rate identity
// (the trained CNN embedder), style fidelity and similarity to the reference. Results are kept
// per identity (results.ts aggregates them with bootstrap intervals), so a long run can be
// split into shards and resumed.
import { caption, identitySeed, photoSeed, renderPhoto, renderStyled, sampleIdentity, STYLES, type Style } from '../dataset';
import type { RgbaImage } from '../face/image';
import type { PackContents } from '../packs/types';
import { createPersonalizer } from '../finetune/personalize';
import { createPipeline, type GenerateOptions } from '../pipeline/pipeline';
import type { SchedulerName } from '../diffusion/schedulers';
import type { Runtime } from '../runtime/types';
import type { IdentityEmbedder } from './embedder/embedder';
import { cosine } from './features';
import { selectMethods, type MethodSettings } from './methods';

export interface EvalSettings extends MethodSettings {
  /** held-out identities 0 … ids−1 of world `seed` */
  ids: number;
  /** world seed of the held-out identities */
  seed: number;
  /** noise seeds per identity and style */
  seeds: number;
  stepsImage: number;
  guidance: number;
  scheduler: SchedulerName;
  styles: readonly Style[];
  /** method names, in the registry's order */
  methods: readonly string[];
}

/** The default protocol (issue 16): ≥ 50 held-out identities × all 8 styles × 2 seeds, 25 sampling steps. */
export const DEFAULT_EVAL: Omit<EvalSettings, 'seed' | 'methods'> = {
  ids: 50,
  seeds: 2,
  stepsImage: 25,
  ftSteps: 40,
  lidbSteps: 400,
  learningRate: 1e-3,
  rank: 4,
  guidance: 7.5,
  scheduler: 'ddim',
  styles: STYLES,
};

/** What the evaluation scores with: the identity embedder and the style/descriptor scorers. */
export interface EvalScorers {
  identity: IdentityEmbedder;
  /** probability of each of STYLES */
  styleProbabilities(img: RgbaImage): Float32Array;
  /** generic descriptor, centred; compared by cosine */
  descriptor(img: RgbaImage): Float32Array;
}

/** One method's scores on one identity: means over its styles × seeds images. */
export interface ImageScores {
  /** cosine of embedder embeddings, generated vs reference selfie: [-1, 1] */
  identity: number;
  /** probability of the requested style: [0, 1] */
  style: number;
  /** cosine of generic descriptors, generated vs reference: [-1, 1] */
  similarity: number;
}

export interface IdentityResult {
  identity: number;
  methods: Record<string, ImageScores & { seconds: number }>;
  /** the renderer's own images of the identity in the same styles: the upper bound */
  renders: ImageScores;
}

export interface EvalProgress { identity: number; done: number; total: number; method: string; phase: 'personalize' | 'generate' }

/** Every image the evaluation made for one identity (seed 0 of each style), methods in settings order. */
export interface IdentityImages { identity: number; reference: RgbaImage; methods: Record<string, RgbaImage[]> }

/** Every generated image of one identity: per method (settings order), seeds × styles, seed-major. */
export type GeneratedImages = Record<string, RgbaImage[]>;

export interface RunHooks {
  onProgress?: (p: EvalProgress) => void;
  onImages?: (images: IdentityImages) => void;
  /** called as each identity finishes, with all its images (the run's store writes both, so they can be rescored) */
  onIdentity?: (result: IdentityResult, images: GeneratedImages) => void;
}

export function validateEvalSettings(s: EvalSettings): void {
  const int = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  int('--ids', s.ids, 1, 10_000);
  int('--seed', s.seed, 0, 262_143);
  int('--seeds', s.seeds, 1, 100);
  int('--steps-image', s.stepsImage, 1, 1000);
  int('--ft-steps', s.ftSteps, 0, 10_000);
  int('--lidb-steps', s.lidbSteps, 0, 10_000);
  int('--rank', s.rank, 1, 64);
  if (!(s.learningRate > 0 && s.learningRate <= 1)) throw new Error(`--lr must be in (0, 1], got ${s.learningRate}`);
  if (!(s.guidance >= 0) || !Number.isFinite(s.guidance)) throw new Error(`--guidance must be a finite number ≥ 0, got ${s.guidance}`);
  if (!s.styles.length) throw new Error('at least one style is needed');
  for (const st of s.styles) if (!(STYLES as readonly string[]).includes(st)) throw new Error(`unknown style '${st}' (styles: ${STYLES.join(', ')})`);
  selectMethods(s.methods);
}

const now = (): number => globalThis.performance?.now() ?? Date.now();

/** The reference selfie of held-out identity `i`: photo 0 at the pack's image size. */
export function referenceSelfie(i: number, worldSeed: number, size: number): RgbaImage {
  const idSeed = identitySeed('heldout', i, worldSeed);
  return renderPhoto(sampleIdentity(idSeed), photoSeed(idSeed, 0), { size });
}

/** The renderer's own images of held-out identity `i` in each style (other poses than the selfie). */
export function renderedStyles(i: number, settings: Pick<EvalSettings, 'seed' | 'styles'>, size: number): RgbaImage[] {
  const idSeed = identitySeed('heldout', i, settings.seed);
  const id = sampleIdentity(idSeed);
  return settings.styles.map((s, k) => renderStyled(id, s, photoSeed(idSeed, 1 + k), size));
}

/** Noise seed of style k's image with seed number j of identity i (the pipeline adds k itself). */
export const imageSeed = (i: number, j: number): number => 1000 * i + 100 * j;

async function scoreImages(scorers: EvalScorers, images: RgbaImage[], styles: readonly Style[], refEmbedding: Float32Array, refDescriptor: Float32Array): Promise<ImageScores> {
  const embeddings = await scorers.identity.embed(images);
  let identity = 0, style = 0, similarity = 0;
  images.forEach((img, k) => {
    identity += cosine(embeddings[k], refEmbedding);
    style += scorers.styleProbabilities(img)[STYLES.indexOf(styles[k % styles.length])];
    similarity += cosine(scorers.descriptor(img), refDescriptor);
  });
  const n = images.length;
  return { identity: identity / n, style: style / n, similarity: similarity / n };
}

/**
 * Scores one identity's generated images (and the renderer's own images) against its selfie;
 * `seconds` per method come from the run that made the images.
 */
export async function scoreIdentity(
  scorers: EvalScorers, settings: EvalSettings, i: number, size: number, images: GeneratedImages, seconds: Record<string, number>,
): Promise<IdentityResult> {
  const reference = referenceSelfie(i, settings.seed, size);
  const [refEmbedding] = await scorers.identity.embed([reference]);
  const refDescriptor = scorers.descriptor(reference);
  const methods: IdentityResult['methods'] = {};
  for (const m of settings.methods) {
    const made = images[m];
    if (!made || made.length !== settings.seeds * settings.styles.length) throw new Error(`identity ${i}: method '${m}' has ${made?.length ?? 0} images, expected ${settings.seeds * settings.styles.length}`);
    methods[m] = { ...(await scoreImages(scorers, made, settings.styles, refEmbedding, refDescriptor)), seconds: seconds[m] };
  }
  const renders = await scoreImages(scorers, renderedStyles(i, settings, size), settings.styles, refEmbedding, refDescriptor);
  return { identity: i, methods, renders };
}

/**
 * Evaluates the given identities (a shard's, or those a resumed run still lacks) and returns
 * their results in the order given.
 */
export async function runEvaluation(
  runtime: Runtime,
  pack: PackContents,
  scorers: EvalScorers,
  settings: EvalSettings,
  identities: readonly number[],
  hooks: RunHooks = {},
): Promise<IdentityResult[]> {
  validateEvalSettings(settings);
  for (const i of identities) if (!Number.isInteger(i) || i < 0 || i >= settings.ids) throw new Error(`identity ${i} is outside 0..${settings.ids - 1}`);
  const { manifest } = pack;
  if (manifest.image.width !== manifest.image.height) throw new Error(`eval needs a square image size, the pack's is ${manifest.image.width}×${manifest.image.height}`);
  const size = manifest.image.width;
  const methods = selectMethods(settings.methods);
  const results: IdentityResult[] = [];
  if (!identities.length) return results;
  const pipeline = await createPipeline(runtime, pack);
  const personalizer = await createPersonalizer(runtime, pack);
  const ctx = { personalizer, pipeline, settings };
  try {
    // open every session before timing, so the first method measured does not pay for it
    const warm = referenceSelfie(0, settings.seed, size);
    await personalizer.predict(warm, 0);
    await personalizer.encodeLatent(warm);
    await personalizer.prepare();
    for (const [done, i] of identities.entries()) {
      const idSeed = identitySeed('heldout', i, settings.seed);
      const identity = sampleIdentity(idSeed);
      const reference = referenceSelfie(i, settings.seed, size);
      const prompts = settings.styles.map((s) => caption(identity, s, { subject: `a ${manifest.trigger} face` }));
      const made: GeneratedImages = {};
      const seconds: Record<string, number> = {};
      for (const method of methods) {
        hooks.onProgress?.({ identity: i, done, total: identities.length, method: method.name, phase: 'personalize' });
        const t0 = now();
        const personalized = await method.personalize(ctx, reference, i);
        const elapsed = (now() - t0) / 1000;
        hooks.onProgress?.({ identity: i, done, total: identities.length, method: method.name, phase: 'generate' });
        const images: RgbaImage[] = [];
        try {
          for (let j = 0; j < settings.seeds; j++) {
            // the same noise seeds for every method, so only the personalization differs
            const opts: GenerateOptions = {
              prompts, seed: imageSeed(i, j), steps: settings.stepsImage, guidance: settings.guidance, scheduler: settings.scheduler,
              ...(personalized.lora ? { lora: personalized.lora } : {}),
            };
            const generated = personalized.generate ? await personalized.generate(opts) : await pipeline.generate(opts);
            images.push(...generated.map((g) => ({ width: g.width, height: g.height, data: g.rgba })));
          }
        } finally {
          await personalized.release?.();
        }
        made[method.name] = images;
        seconds[method.name] = elapsed;
      }
      const result = await scoreIdentity(scorers, settings, i, size, made, seconds);
      results.push(result);
      hooks.onIdentity?.(result, made);
      hooks.onImages?.({ identity: i, reference, methods: Object.fromEntries(Object.entries(made).map(([m, imgs]) => [m, imgs.slice(0, settings.styles.length)])) });
    }
  } finally {
    await pipeline.release();
    await personalizer.release();
  }
  return results;
}
