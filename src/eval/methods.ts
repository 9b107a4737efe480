// The personalization methods `hyperbooth eval` compares, as a registry: each method turns the
// reference selfie into what the pack generates with (a LiDB's LoRA values, or its own generator
// for methods that change other weights), and only that step is timed. New baselines register
// themselves here (`registerMethod`) and appear in `--methods`, the table and the JSON.
import type { RgbaImage } from '../face/image';
import { dreamboothFineTune, openUnetWeightTraining } from './baselines/dreambooth';
import { packWithWeights } from './baselines/packOverlay';
import { openTokenTraining, textualInversion } from './baselines/textualInversion';
import { createPipeline } from '../pipeline/pipeline';
import type { Relaxation } from '../finetune/relaxation';
import type { Personalizer } from '../finetune/personalize';
import { initLidb, type Lidb } from '../lidb/lidb';
import { personalSlots, type PersonalWeights } from '../lidb/personal';
import { LidbRng } from '../lidb/random';
import type { PackContents } from '../packs/types';
import type { GenerateOptions, GeneratedImage, Pipeline } from '../pipeline/pipeline';
import type { LoraValues } from '../pipeline/lora';
import type { Runtime } from '../runtime/types';

/** What the methods may read: the evaluation's settings that concern personalization. */
export interface MethodSettings {
  ftSteps: number;
  lidbSteps: number;
  /** one learning rate for every method (--lr); absent: each method's own, swept on the validation split */
  learningRate?: number;
  rank: number;
  /** caps every method's fine-tune steps (--max-steps, for smoke runs); absent: each method's own */
  maxSteps?: number;
}

/** Sessions a method opens once per run and shares across identities; released with the run. */
export class MethodResources {
  private readonly opened = new Map<string, Promise<{ release(): Promise<void> }>>();

  get<T extends { release(): Promise<void> }>(key: string, open: () => Promise<T>): Promise<T> {
    let p = this.opened.get(key);
    if (!p) {
      p = open();
      this.opened.set(key, p);
      p.catch(() => this.opened.delete(key));
    }
    return p as Promise<T>;
  }

  async release(): Promise<void> {
    const all = [...this.opened.values()];
    this.opened.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.release()));
  }
}

export interface MethodContext {
  runtime: Runtime;
  pack: PackContents;
  personalizer: Personalizer;
  pipeline: Pipeline;
  settings: MethodSettings;
  resources: MethodResources;
}

/** The outcome of personalizing: LoRA values for the shared pipeline, or a generator of its own. */
export interface Personalized {
  lora?: LoraValues;
  /** for methods that change more than the LoRA slots (e.g. the UNet's weights) */
  generate?(opts: GenerateOptions): Promise<GeneratedImage[]>;
  release?(): Promise<void>;
}

export interface EvalMethod {
  name: string;
  /** one line for the usage text and the README */
  summary: string;
  /** the method's own learning rate (swept on the validation split, src/eval/README.md); --lr overrides it */
  learningRate?: number;
  /** opens what the method's first run would otherwise open inside its timed part */
  prepare?(ctx: MethodContext): Promise<void>;
  /** from the reference selfie of held-out identity `identity`; timed as the method's seconds */
  personalize(ctx: MethodContext, face: RgbaImage, identity: number): Promise<Personalized>;
}

const registry = new Map<string, EvalMethod>();

export function registerMethod(method: EvalMethod): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(method.name)) throw new Error(`method name '${method.name}' must be lower-case letters, digits and '-'`);
  if (registry.has(method.name)) throw new Error(`method '${method.name}' is registered twice`);
  registry.set(method.name, method);
}

/** Every registered method, in registration order (the table's row order). */
export function allMethods(): EvalMethod[] {
  return [...registry.values()];
}

export function methodNames(): string[] {
  return [...registry.keys()];
}

/** The methods named in a `--methods a,b` list, in the registry's order; throws for unknown names. */
export function selectMethods(names?: readonly string[]): EvalMethod[] {
  if (!names) return allMethods();
  if (!names.length) throw new Error('--methods needs at least one method');
  for (const n of names) if (!registry.has(n)) throw new Error(`unknown method '${n}' (methods: ${methodNames().join(', ')})`);
  return allMethods().filter((m) => names.includes(m.name));
}

/** Relaxes `prediction` as `relaxation` says and fine-tunes it on the selfie for `steps` steps. */
/** The learning rate `method` trains with in this run: --lr when given, else its own. */
export function learningRateOf(ctx: MethodContext, method: string): number {
  const lr = rateOf(ctx.settings, method);
  if (lr === undefined) throw new Error(`method '${method}' has no learning rate of its own; pass --lr`);
  return lr;
}

const rateOf = (settings: MethodContext['settings'], method: string): number | undefined => settings.learningRate ?? registry.get(method)?.learningRate;

/**
 * The learning rate of every method of `settings` that trains, as this code runs it: part of an
 * evaluation run's key, so a run resumed or merged after SWEPT_LR changed is refused, not mixed.
 */
export function learningRates(settings: MethodContext['settings'] & { methods: readonly string[] }): Record<string, number> {
  return Object.fromEntries(settings.methods.flatMap((m) => {
    const lr = rateOf(settings, m);
    return lr === undefined ? [] : [[m, lr]];
  }));
}

/** `steps`, capped by --max-steps */
export const stepsOf = (ctx: MethodContext, steps: number): number => Math.min(steps, ctx.settings.maxSteps ?? steps);

export interface FineTuneRun {
  /** the method whose learning rate applies */
  method: string;
  steps: number;
  seed: number;
  relaxation: Relaxation;
  rank?: number;
}

/** Relaxes `prediction` as the run says and fine-tunes it on the selfie. */
export async function fineTune(ctx: MethodContext, prediction: Lidb, face: RgbaImage, r: FineTuneRun): Promise<PersonalWeights> {
  const { personalizer } = ctx;
  const latent = await personalizer.encodeLatent(face);
  const settings = { steps: stepsOf(ctx, r.steps), learningRate: learningRateOf(ctx, r.method), rank: r.rank ?? ctx.settings.rank, seed: r.seed, relaxation: r.relaxation };
  const out = await personalizer.fineTune(prediction, latent, { settings });
  if (out.stoppedEarly) throw new Error(`fine-tune stopped early: ${out.stoppedEarly}`);
  return out;
}

export const asLora = (ctx: MethodContext, weights: PersonalWeights): Personalized =>
  ({ lora: personalSlots(weights, ctx.personalizer.aux, ctx.personalizer.manifest.lora.layers) });
/** D random, U zero: ΔW = 0 and both factors get gradients */
const zeroLidb = (ctx: MethodContext, rank: number, seed: number): Lidb =>
  initLidb(ctx.personalizer.manifest.lora.layers, rank, new LidbRng(seed, 'init'));

/**
 * Each method's learning rate: the best of `hyperbooth sweep-lr` on validation identities (world
 * 0, never held-out people), scored by the committed CNN identity embedder; the rows are in
 * src/eval/sweeps/lr-sweep-2.json and src/eval/README.md says which choices sit at a grid's end.
 */
export const SWEPT_LR = {
  hyperdreambooth: 3e-2,
  'no-hyper': 1e-4,
  k1: 1e-1,
  'lidb-400': 3e-3,
  dreambooth: 3e-3,
  'dreambooth-400': 1e-3,
  'dreambooth-40': 3e-3,
  'textual-inversion': 1.5e-2,
} as const;

registerMethod({ name: 'base', summary: 'the pack without personalization', personalize: async () => ({}) });
registerMethod({
  name: 'only-hyper',
  summary: 'hypernetwork prediction, no fine-tune',
  personalize: async (ctx, face, i) => asLora(ctx, { lidb: await ctx.personalizer.predict(face, i) }),
});
registerMethod({
  name: 'hyperdreambooth',
  summary: 'hypernetwork prediction merged + a rank-r residual LoRA in the full weight space, --ft-steps fine-tune (the paper\'s)',
  learningRate: SWEPT_LR.hyperdreambooth,
  personalize: async (ctx, face, i) =>
    asLora(ctx, await fineTune(ctx, await ctx.personalizer.predict(face, i), face, { method: 'hyperdreambooth', steps: ctx.settings.ftSteps, seed: i, relaxation: 'full-space' })),
});
registerMethod({
  name: 'no-hyper',
  summary: 'a zero rank-1 LiDB (no prediction) + a full-space residual LoRA, --ft-steps fine-tune',
  learningRate: SWEPT_LR['no-hyper'],
  personalize: async (ctx, face, i) =>
    asLora(ctx, await fineTune(ctx, zeroLidb(ctx, 1, i), face, { method: 'no-hyper', steps: ctx.settings.ftSteps, seed: i, relaxation: 'full-space' })),
});
// Formerly called "dreambooth-400": it fine-tunes a LiDB, not the UNet's weights, so it is named
// for what it is; DreamBooth proper is a method of its own.
registerMethod({
  name: 'lidb-400',
  summary: 'a zero LiDB of rank r trained inside the aux subspace, --lidb-steps (was "dreambooth-400"; not DreamBooth: the UNet is not trained)',
  learningRate: SWEPT_LR['lidb-400'],
  personalize: async (ctx, face, i) =>
    asLora(ctx, await fineTune(ctx, zeroLidb(ctx, ctx.settings.rank, i), face, { method: 'lidb-400', steps: ctx.settings.lidbSteps, seed: i, relaxation: 'aux-subspace' })),
});
registerMethod({
  name: 'k1',
  summary: 'hypernetwork prediction → --ft-steps fine-tune of the rank-1 LiDB itself (no rank relaxation: the paper\'s k = 1)',
  learningRate: SWEPT_LR.k1,
  personalize: async (ctx, face, i) =>
    asLora(ctx, await fineTune(ctx, await ctx.personalizer.predict(face, i), face, { method: 'k1', steps: ctx.settings.ftSteps, seed: i, relaxation: 'aux-subspace', rank: 1 })),
});

/** Generates with a copy of the pack whose `key` graph has the trained weights (opened on first use, not timed). */
function generatorOver(ctx: MethodContext, key: 'unet' | 'textEncoder', weights: Record<string, Float32Array>): Personalized {
  let pipeline: Promise<Pipeline> | undefined;
  const open = () => (pipeline ??= createPipeline(ctx.runtime, packWithWeights(ctx.pack, key, weights)));
  return {
    generate: async (opts) => (await open()).generate(opts),
    release: async () => { if (pipeline) await (await pipeline).release(); },
  };
}

const unetTraining = (ctx: MethodContext) => ctx.resources.get('unet-weights', () => openUnetWeightTraining(ctx.runtime, ctx.pack));
// DreamBooth's step counts are the paper's (1,200, and its aggressive 400 and 40)
for (const [name, steps] of [['dreambooth', 1200], ['dreambooth-400', 400], ['dreambooth-40', 40]] as const) {
  registerMethod({
    name,
    summary: `the UNet's own weights (not a LoRA) fine-tuned ${steps} steps on the selfie, Adam${steps < 1200 ? ', a higher learning rate' : ''}`,
    learningRate: SWEPT_LR[name],
    prepare: async (ctx) => { await unetTraining(ctx); },
    personalize: async (ctx, face, i) => {
      const training = await unetTraining(ctx);
      const latent = await ctx.personalizer.encodeLatent(face);
      const out = await dreamboothFineTune(training, latent, { steps: stepsOf(ctx, steps), learningRate: learningRateOf(ctx, name), seed: i });
      return generatorOver(ctx, 'unet', out.weights);
    },
  });
}

const tokenTraining = (ctx: MethodContext) => ctx.resources.get('token-table', () => openTokenTraining(ctx.runtime, ctx.pack));
registerMethod({
  name: 'textual-inversion',
  summary: 'only the trigger token\'s embedding row is learned, --lidb-steps steps',
  learningRate: SWEPT_LR['textual-inversion'],
  prepare: async (ctx) => { await tokenTraining(ctx); },
  personalize: async (ctx, face, i) => {
    const training = await tokenTraining(ctx);
    const latent = await ctx.personalizer.encodeLatent(face);
    const out = await textualInversion(training, latent, { steps: stepsOf(ctx, ctx.settings.lidbSteps), learningRate: learningRateOf(ctx, 'textual-inversion'), seed: i });
    return generatorOver(ctx, 'textEncoder', { [training.tableName]: out.table });
  },
});
