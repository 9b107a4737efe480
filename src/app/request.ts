// The Generate form turned into a worker request, or a sentence saying which field is wrong.
import type { FineTuneSettings, GenerateRequest, SchedulerName } from '../../workers/api';
import { RELAXATIONS, type Relaxation } from '../finetune/relaxation';
import { promptItems, type PromptItem } from './prompts';
import type { StylePreset } from '../packs/stylePresets';

/** Form fields as typed: numbers stay strings until Generate validates them. */
export interface Settings {
  /** the person's own prompts, one per line */
  prompt: string;
  negativePrompt: string;
  seed: string;
  steps: string;
  guidance: string;
  scheduler: SchedulerName;
  /** images per prompt */
  count: string;
}

export const MAX_SEED = 2 ** 32 - 1;
/** One click never queues more than this: on a slow GPU each image takes a while. */
export const MAX_IMAGES = 12;

export interface PromptContext {
  styleIds: readonly string[];
  trigger?: string;
  personalized: boolean;
  /** the loaded pack's styles (default: the usual presets) */
  presets?: readonly StylePreset[];
}

export interface BuiltRequest {
  request: GenerateRequest;
  /** one per image, in request order */
  items: PromptItem[];
}

export function parseSeed(text: string): number | string {
  const seed = Number(text);
  if (text.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    return `Seed must be a whole number from 0 to ${MAX_SEED}.`;
  }
  return seed;
}

export function buildRequest(s: Settings, ctx: PromptContext = { styleIds: [], personalized: false }): BuiltRequest | string {
  const prompts = promptItems(ctx.styleIds, s.prompt, ctx.trigger, ctx.personalized, ctx.presets);
  if (prompts.length === 0) return ctx.trigger ? 'Pick a style or write a prompt first.' : 'Write a prompt first.';
  const seed = parseSeed(s.seed);
  if (typeof seed === 'string') return seed;
  const steps = Number(s.steps);
  if (s.steps.trim() === '' || !Number.isInteger(steps) || steps < 1 || steps > 150) return 'Steps must be a whole number from 1 to 150.';
  const guidance = Number(s.guidance);
  if (s.guidance.trim() === '' || !Number.isFinite(guidance) || guidance < 0 || guidance > 30) {
    return 'Guidance must be a number from 0 to 30.';
  }
  const count = Number(s.count);
  if (s.count.trim() === '' || !Number.isInteger(count) || count < 1 || count > 4) return 'Images per prompt must be a whole number from 1 to 4.';
  const total = prompts.length * count;
  if (total > MAX_IMAGES) {
    return `That is ${total} images (${prompts.length} prompts × ${count}); make at most ${MAX_IMAGES} at once.`;
  }
  // Image i gets seed + i in the pipeline, so copies of one prompt differ and a batch is reproducible.
  const items = prompts.flatMap((p) => Array.from({ length: count }, () => p));
  const negativePrompt = s.negativePrompt.trim();
  return {
    request: {
      prompts: items.map((p) => p.prompt),
      ...(negativePrompt ? { negativePrompt } : {}),
      seed,
      steps,
      guidance,
      scheduler: s.scheduler,
    },
    items,
  };
}

/** Fine-tune settings as typed in the Personalize panel. */
export interface FineTuneFields {
  steps: string;
  learningRate: string;
  rank: string;
  seed: string;
  /** chosen from a list, not typed */
  relaxation: Relaxation;
}

export interface FineTuneLimits {
  maxSteps: number;
  maxRank: number;
}

// The worker accepts more (src/finetune/personalize.ts); beyond these a browser fine-tune is not sensible.
export const FINE_TUNE_LIMITS: FineTuneLimits = { maxSteps: 1000, maxRank: 64 };

export function buildFineTuneSettings(f: FineTuneFields, limits: FineTuneLimits = FINE_TUNE_LIMITS): FineTuneSettings | string {
  const steps = Number(f.steps);
  if (f.steps.trim() === '' || !Number.isInteger(steps) || steps < 0 || steps > limits.maxSteps) {
    return `Fine-tune steps must be a whole number from 0 to ${limits.maxSteps}.`;
  }
  const learningRate = Number(f.learningRate);
  if (f.learningRate.trim() === '' || !Number.isFinite(learningRate) || learningRate <= 0 || learningRate > 1) {
    return 'Learning rate must be a number above 0 and at most 1 (e.g. 0.001 or 1e-3).';
  }
  const rank = Number(f.rank);
  if (f.rank.trim() === '' || !Number.isInteger(rank) || rank < 1 || rank > limits.maxRank) {
    return `Rank must be a whole number from 1 to ${limits.maxRank}.`;
  }
  const seed = parseSeed(f.seed);
  if (typeof seed === 'string') return seed.replace('Seed', 'Fine-tune seed');
  if (!RELAXATIONS.includes(f.relaxation)) return `Rank relaxation must be one of ${RELAXATIONS.join(', ')}.`;
  return { steps, learningRate, rank, seed, relaxation: f.relaxation };
}
