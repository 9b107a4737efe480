import { DDIMScheduler, type DDIMSchedulerConfig } from './ddim';
import { EulerDiscreteScheduler, type EulerDiscreteSchedulerConfig } from './euler';
import { DPMSolverMultistepScheduler, type DPMSolverMultistepSchedulerConfig } from './dpmSolverMultistep';
import type { Scheduler } from './types';

export * from './types';
export { DDIMScheduler, DDIM_DEFAULTS, type DDIMSchedulerConfig } from './ddim';
export { EulerDiscreteScheduler, EULER_DEFAULTS, type EulerDiscreteSchedulerConfig } from './euler';
export {
  DPMSolverMultistepScheduler,
  DPM_SOLVER_MULTISTEP_DEFAULTS,
  type DPMSolverMultistepSchedulerConfig,
} from './dpmSolverMultistep';

export type SchedulerName = 'ddim' | 'euler' | 'dpmpp2m';

/** Union of every scheduler's options; each scheduler reads the ones it knows. */
export type AnySchedulerConfig = Partial<
  DDIMSchedulerConfig & EulerDiscreteSchedulerConfig & DPMSolverMultistepSchedulerConfig
>;

export const SCHEDULER_NAMES: readonly SchedulerName[] = ['ddim', 'euler', 'dpmpp2m'];

/**
 * The training schedule of Stable Diffusion 1.x (its scheduler_config.json).
 * Sampler-specific keys (clipSample, setAlphaToOne) only matter to DDIM.
 */
export const SD15_SCHEDULER_CONFIG: AnySchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  predictionType: 'epsilon',
  stepsOffset: 1,
  clipSample: false,
  setAlphaToOne: false,
};

export function createScheduler(name: SchedulerName, config: AnySchedulerConfig = {}): Scheduler {
  switch (name) {
    case 'ddim':
      return new DDIMScheduler(config);
    case 'euler':
      return new EulerDiscreteScheduler(config);
    case 'dpmpp2m':
      // DPM++ 2M is order-2 data-prediction multistep; pin those so a shared config cannot change the sampler.
      return new DPMSolverMultistepScheduler({ ...config, solverOrder: 2, algorithmType: 'dpmsolver++' });
    default:
      throw new Error(`unknown scheduler: ${String(name)}`);
  }
}

/**
 * Converts a diffusers scheduler_config.json (snake_case) into our config.
 * Keys that none of our schedulers implement (e.g. `_class_name`,
 * `skip_prk_steps`) are dropped; a `null` value means "use the default".
 */
export function schedulerConfigFromDiffusers(json: Record<string, unknown>): AnySchedulerConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key.startsWith('_') || value === null) continue;
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (KNOWN_KEYS.has(camel)) out[camel] = value;
  }
  return out as AnySchedulerConfig;
}

const KNOWN_KEYS = new Set<string>([
  'numTrainTimesteps',
  'betaStart',
  'betaEnd',
  'betaSchedule',
  'trainedBetas',
  'predictionType',
  'timestepSpacing',
  'stepsOffset',
  'clipSample',
  'clipSampleRange',
  'setAlphaToOne',
  'useKarrasSigmas',
  'sigmaMin',
  'sigmaMax',
  'finalSigmasType',
  'solverOrder',
  'algorithmType',
  'solverType',
  'lowerOrderFinal',
  'eulerAtFinal',
  'lambdaMinClipped',
]);
