/** Pieces shared by the scheduler implementations. */

import { alphasCumprod, betas } from '../schedule';
import type { BaseSchedulerConfig, StepOptions } from './types';

/** diffusers' defaults for the options every scheduler has. */
export const BASE_DEFAULTS: BaseSchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  predictionType: 'epsilon',
  timestepSpacing: 'linspace',
  stepsOffset: 0,
};

export function trainingAlphasCumprod(config: BaseSchedulerConfig): Float64Array {
  const betaValues = config.trainedBetas
    ? Float64Array.from(config.trainedBetas)
    : betas(config.betaSchedule, config.betaStart, config.betaEnd, config.numTrainTimesteps);
  if (betaValues.length !== config.numTrainTimesteps) {
    throw new RangeError(`trainedBetas has ${betaValues.length} values, numTrainTimesteps is ${config.numTrainTimesteps}`);
  }
  return alphasCumprod(betaValues);
}

export function assertSameLength(a: Float32Array, b: Float32Array, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: expected ${a.length} values, got ${b.length}`);
}

export function assertInferenceSteps(numInferenceSteps: number, numTrainTimesteps: number): void {
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > numTrainTimesteps) {
    throw new RangeError(`numInferenceSteps must be an integer in 1..${numTrainTimesteps}, got ${numInferenceSteps}`);
  }
}

/** Noise for a stochastic step: the caller's exact tensor, else draws from its RNG. */
export function stepNoise(length: number, opts: StepOptions | undefined, who: string): Float32Array {
  if (opts?.varianceNoise) {
    if (opts.varianceNoise.length !== length) {
      throw new RangeError(`${who}: varianceNoise has ${opts.varianceNoise.length} values, expected ${length}`);
    }
    return opts.varianceNoise;
  }
  if (opts?.rng) return opts.rng.randn(length);
  throw new Error(`${who}: this step is stochastic; pass opts.varianceNoise or opts.rng`);
}

/**
 * Step bookkeeping for schedulers that index sigmas by position rather than by
 * timestep (Euler, DPM-Solver). The position is found from the first timestep
 * seen and then advances by one per step, as in diffusers.
 */
export class StepCounter {
  private index: number | null = null;
  private begin: number | null = null;

  reset(): void {
    this.index = null;
    this.begin = null;
  }

  /** Pipelines that start mid-schedule (img2img) set where they begin. */
  setBeginIndex(begin: number): void {
    this.begin = begin;
  }

  get beginIndex(): number | null {
    return this.begin;
  }

  get current(): number | null {
    return this.index;
  }

  /** Current position, initialised on first use from `t` via `lookup`. */
  resolve(t: number, lookup: (t: number) => number): number {
    if (this.index === null) this.index = this.begin ?? lookup(t);
    return this.index;
  }

  advance(): void {
    if (this.index === null) throw new Error('StepCounter.advance before resolve');
    this.index += 1;
  }
}

/**
 * Position of `t` in `schedule`, or null when absent. When `t` occurs twice diffusers takes the
 * second occurrence, so that a run started mid-schedule does not skip a sigma.
 */
export function scheduleIndexOf(schedule: readonly number[], t: number): number | null {
  const matches: number[] = [];
  schedule.forEach((s, i) => s === t && matches.push(i));
  if (matches.length === 0) return null;
  return matches.length > 1 ? matches[1] : matches[0];
}
