/**
 * Shared scheduler contract. Names follow diffusers (camelCased) so that a
 * diffusers `scheduler_config.json` maps 1:1 onto these configs
 * (see `schedulerConfigFromDiffusers`).
 *
 * Tensors are flat Float32Arrays in the model's layout; schedulers only do
 * elementwise math, so they never need the shape.
 */

import type { BetaSchedule } from '../schedule';

export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';

export interface BaseSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  /** Overrides betaStart/betaEnd/betaSchedule when given. */
  trainedBetas: ArrayLike<number> | null;
  predictionType: PredictionType;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
}

/** Anything that can hand out standard normal draws (e.g. `SeededRandom`). */
export interface NormalSource {
  randn(count: number): Float32Array;
}

export interface StepOptions {
  /** DDIM only: 0 is deterministic DDIM, 1 is DDPM-like ancestral sampling. */
  eta?: number;
  /** Exact noise for the stochastic part of a step; takes precedence over `rng`. */
  varianceNoise?: Float32Array;
  /** Source of noise for the stochastic part of a step when `varianceNoise` is absent. */
  rng?: NormalSource;
}

export interface StepResult {
  prevSample: Float32Array;
  /** The model's current estimate of x_0, when the scheduler forms one. */
  predOriginalSample?: Float32Array;
}

export interface Scheduler {
  /** Number of model evaluations per step (1 for all schedulers here). */
  readonly order: number;
  /** Timesteps to feed the model, in sampling order. Empty until `setTimesteps`. */
  readonly timesteps: number[];
  /** Scale of the initial latent noise: x_T = initNoiseSigma * N(0, I). */
  readonly initNoiseSigma: number;
  setTimesteps(numInferenceSteps: number): void;
  /** Scales the latent before it goes into the model at timestep `t` (identity for DDIM/DPM-Solver). */
  scaleModelInput(sample: Float32Array, t: number): Float32Array;
  /** One denoising step from timestep `t` to the next timestep in `timesteps`. */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult;
  /**
   * Noises clean `original` to the level of timestep `t` of the current
   * schedule, in this scheduler's own parameterisation (img2img start point).
   */
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array;
}
