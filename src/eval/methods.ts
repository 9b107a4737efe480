// The personalization methods `hyperbooth eval` compares, as a registry: each method turns the
// reference selfie into what the pack generates with (a LiDB's LoRA values, or its own generator
// for methods that change other weights), and only that step is timed. New baselines register
// themselves here (`registerMethod`) and appear in `--methods`, the table and the JSON.
import type { RgbaImage } from '../face/image';
import { initLidb, type Lidb } from '../lidb/lidb';
import { personalSlots, type PersonalWeights } from '../lidb/personal';
import type { Relaxation } from '../finetune/relaxation';
import { LidbRng } from '../lidb/random';
import type { Personalizer } from '../finetune/personalize';
import type { GenerateOptions, GeneratedImage, Pipeline } from '../pipeline/pipeline';
import type { LoraValues } from '../pipeline/lora';

/** What the methods may read: the evaluation's settings that concern personalization. */
export interface MethodSettings {
  ftSteps: number;
  lidbSteps: number;
  learningRate: number;
  rank: number;
}

export interface MethodContext {
  personalizer: Personalizer;
  pipeline: Pipeline;
  settings: MethodSettings;
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

async function fineTune(ctx: MethodContext, prediction: Lidb, face: RgbaImage, steps: number, seed: number, relaxation: Relaxation): Promise<PersonalWeights> {
  const { personalizer, settings } = ctx;
  const latent = await personalizer.encodeLatent(face);
  const out = await personalizer.fineTune(prediction, latent, { settings: { steps, learningRate: settings.learningRate, rank: settings.rank, seed, relaxation } });
  if (out.stoppedEarly) throw new Error(`fine-tune stopped early: ${out.stoppedEarly}`);
  return out;
}

const asLora = (ctx: MethodContext, weights: PersonalWeights): Personalized => ({
  lora: personalSlots(weights, ctx.personalizer.aux, ctx.personalizer.manifest.lora.layers),
});
/** A LiDB with ΔW = 0 (D random, U zero) at `rank`. */
const freshLidb = (ctx: MethodContext, seed: number, rank: number): Lidb =>
  initLidb(ctx.personalizer.manifest.lora.layers, rank, new LidbRng(seed, 'init'));

registerMethod({ name: 'base', summary: 'the pack without personalization', personalize: async () => ({}) });
registerMethod({
  name: 'only-hyper',
  summary: 'hypernetwork prediction, no fine-tune',
  personalize: async (ctx, face, i) => asLora(ctx, { lidb: await ctx.personalizer.predict(face, i) }),
});
registerMethod({
  name: 'hyperdreambooth',
  summary: 'hypernetwork prediction, merged, + a rank-r residual LoRA in the full weight space → --ft-steps fine-tune (the paper)',
  personalize: async (ctx, face, i) => asLora(ctx, await fineTune(ctx, await ctx.personalizer.predict(face, i), face, ctx.settings.ftSteps, i, 'full-space')),
});
registerMethod({
  name: 'no-hyper',
  summary: 'the same fine-tune from a prediction of zero (no hypernetwork)',
  personalize: async (ctx, face, i) => asLora(ctx, await fineTune(ctx, freshLidb(ctx, i, 1), face, ctx.settings.ftSteps, i, 'full-space')),
});
// Formerly called "dreambooth-400": it fine-tunes a LiDB, not the UNet's weights, so it is named
// for what it is; DreamBooth proper is a method of its own.
registerMethod({
  name: 'lidb-400',
  summary: 'a fresh LiDB trained inside its aux subspace → --lidb-steps fine-tune (was "dreambooth-400"; not DreamBooth: the UNet is not trained)',
  personalize: async (ctx, face, i) => asLora(ctx, await fineTune(ctx, freshLidb(ctx, i, ctx.settings.rank), face, ctx.settings.lidbSteps, i, 'aux-subspace')),
});
