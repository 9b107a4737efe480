/**
 * Euler sampler for the probability-flow ODE in the sigma parameterisation
 * (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based
 * Generative Models", Algorithm 1 without the 2nd-order correction),
 * mirroring diffusers' EulerDiscreteScheduler with s_churn = 0, i.e. the
 * deterministic sampler.
 *
 * The ODE state is x = x_0 + sigma * eps, so the latent starts at
 * initNoiseSigma * N(0, I) and the model sees x / sqrt(sigma^2 + 1), the
 * variance-preserving input it was trained on.
 */

import { interpOnIndexGrid } from './numpyCompat';
import { spacedTimesteps } from './timestepSpacing';
import { karrasSigmas, sigmaToTimestep, sigmasFromAlphasCumprod } from './sigmas';
import {
  BASE_DEFAULTS,
  StepCounter,
  assertInferenceSteps,
  assertSameLength,
  scheduleIndexOf,
  trainingAlphasCumprod,
} from './common';
import type { BaseSchedulerConfig, Scheduler, StepOptions, StepResult } from './types';

export interface EulerDiscreteSchedulerConfig extends BaseSchedulerConfig {
  /** Space the inference sigmas as in Karras et al. (rho = 7) instead of by timestep. */
  useKarrasSigmas: boolean;
  /** Karras range; defaults to the schedule's own smallest/largest sigma. */
  sigmaMin: number | null;
  sigmaMax: number | null;
  /** Sigma after the last step: 0 (fully denoised) or the smallest training sigma. */
  finalSigmasType: 'zero' | 'sigma_min';
}

export const EULER_DEFAULTS: EulerDiscreteSchedulerConfig = {
  ...BASE_DEFAULTS,
  timestepSpacing: 'linspace',
  useKarrasSigmas: false,
  sigmaMin: null,
  sigmaMax: null,
  finalSigmasType: 'zero',
};

export class EulerDiscreteScheduler implements Scheduler {
  readonly order = 1;
  readonly config: EulerDiscreteSchedulerConfig;
  readonly alphasCumprod: Float64Array;
  /** sigma per inference step plus the final sigma; length timesteps.length + 1. */
  sigmas: number[];
  private schedule: number[];
  private readonly trainingSigmas: Float64Array;
  private readonly counter = new StepCounter();

  constructor(config: Partial<EulerDiscreteSchedulerConfig> = {}) {
    this.config = { ...EULER_DEFAULTS, ...config };
    this.alphasCumprod = trainingAlphasCumprod(this.config);
    this.trainingSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
    // Before setTimesteps the schedule is every training timestep, as in diffusers.
    const T = this.config.numTrainTimesteps;
    this.schedule = Array.from({ length: T }, (_, i) => T - 1 - i);
    this.sigmas = [...Array.from(this.trainingSigmas).reverse(), 0];
  }

  get timesteps(): number[] {
    return this.schedule;
  }

  get initNoiseSigma(): number {
    const maxSigma = Math.max(...this.sigmas);
    // 'leading' never visits t = T-1, so its first latent is the DDPM x_t
    // rescaled, which has variance sigma^2 + 1 rather than sigma^2.
    return this.config.timestepSpacing === 'leading' ? Math.sqrt(maxSigma * maxSigma + 1) : maxSigma;
  }

  /** Position in `timesteps` of the next step, or null before the first step. */
  get stepIndex(): number | null {
    return this.counter.current;
  }

  setBeginIndex(beginIndex: number): void {
    this.counter.setBeginIndex(beginIndex);
  }

  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps: T, stepsOffset } = this.config;
    assertInferenceSteps(numInferenceSteps, T);
    // diffusers keeps Euler timesteps as float32; rounding here keeps the
    // fractional 'linspace' timesteps bit-identical to what a diffusers UNet sees.
    let timesteps = spacedTimesteps(this.config.timestepSpacing, numInferenceSteps, {
      numTrainTimesteps: T,
      stepsOffset,
      roundLinspace: false,
    }).map(Math.fround);

    let sigmas = timesteps.map((t) => interpOnIndexGrid(t, this.trainingSigmas));
    if (this.config.useKarrasSigmas) {
      const sigmaMin = this.config.sigmaMin ?? sigmas[sigmas.length - 1];
      const sigmaMax = this.config.sigmaMax ?? sigmas[0];
      sigmas = karrasSigmas(sigmaMin, sigmaMax, numInferenceSteps);
      const logSigmas = this.trainingSigmas.map(Math.log);
      timesteps = sigmas.map((s) => Math.fround(sigmaToTimestep(s, logSigmas)));
    }
    const finalSigma = this.config.finalSigmasType === 'zero' ? 0 : this.trainingSigmas[0];
    this.sigmas = [...sigmas, finalSigma];
    this.schedule = timesteps;
    this.counter.reset();
  }

  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    const sigma = this.sigmas[this.resolveStepIndex(t)];
    const scale = 1 / Math.sqrt(sigma * sigma + 1);
    return sample.map((x) => x * scale);
  }

  /**
   * `sample` is the unscaled ODE state (what the previous step returned), not
   * the output of scaleModelInput.
   */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, _opts: StepOptions = {}): StepResult {
    assertSameLength(sample, modelOutput, 'EulerDiscreteScheduler.step modelOutput');
    const index = this.resolveStepIndex(t);
    if (index + 1 >= this.sigmas.length) throw new Error(`EulerDiscreteScheduler: no step left after index ${index}`);
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const { predictionType } = this.config;
    // v-prediction denoiser D(x) = c_skip x + c_out v (Karras et al. Table 1 with sigma_data = 1).
    const cSkip = 1 / (sigma * sigma + 1);
    const cOut = -sigma / Math.sqrt(sigma * sigma + 1);

    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const out = modelOutput[i];
      let denoised: number;
      if (predictionType === 'epsilon') denoised = x - sigma * out;
      else if (predictionType === 'v_prediction') denoised = cOut * out + cSkip * x;
      else denoised = out;
      predOriginalSample[i] = denoised;
      const derivative = (x - denoised) / sigma; // dx/dsigma of the probability-flow ODE
      prevSample[i] = x + derivative * dt;
    }
    this.counter.advance();
    return { prevSample, predOriginalSample };
  }

  /** x = x_0 + sigma_t * eps at the schedule position of `t`. */
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    assertSameLength(original, noise, 'EulerDiscreteScheduler.addNoise noise');
    const index = this.counter.current ?? this.counter.beginIndex ?? this.indexForTimestep(t);
    const sigma = this.sigmas[index];
    return original.map((x, i) => x + noise[i] * sigma);
  }

  /** Position of `t` in the schedule (the second occurrence when duplicated, see scheduleIndexOf). */
  indexForTimestep(t: number): number {
    const index = scheduleIndexOf(this.schedule, t);
    if (index === null) throw new RangeError(`timestep ${t} is not in the current schedule`);
    return index;
  }

  private resolveStepIndex(t: number): number {
    return this.counter.resolve(t, (x) => this.indexForTimestep(x));
  }
}
