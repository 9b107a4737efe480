/**
 * DDIM sampler (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit
 * Models", eq. 12), mirroring diffusers' DDIMScheduler. `alpha` below is the
 * paper's alpha, i.e. DDPM's alpha-bar (cumulative product).
 */

import { addNoise } from '../schedule';
import { spacedTimesteps } from './timestepSpacing';
import {
  BASE_DEFAULTS,
  assertInferenceSteps,
  assertSameLength,
  stepNoise,
  trainingAlphasCumprod,
} from './common';
import type { BaseSchedulerConfig, Scheduler, StepOptions, StepResult } from './types';

export interface DDIMSchedulerConfig extends BaseSchedulerConfig {
  /** Clamp the x_0 estimate to [-clipSampleRange, clipSampleRange]; for pixel-space models. */
  clipSample: boolean;
  clipSampleRange: number;
  /**
   * Value of alpha_{t-1} for the final step, which has no previous timestep:
   * exactly 1 (fully denoised) when true, else alpha_0. SD1.5 ships `false`.
   */
  setAlphaToOne: boolean;
}

export const DDIM_DEFAULTS: DDIMSchedulerConfig = {
  ...BASE_DEFAULTS,
  timestepSpacing: 'leading',
  clipSample: true,
  clipSampleRange: 1.0,
  setAlphaToOne: true,
};

export class DDIMScheduler implements Scheduler {
  readonly order = 1;
  readonly initNoiseSigma = 1.0;
  readonly config: DDIMSchedulerConfig;
  readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps: number | null = null;
  private schedule: number[] = [];

  constructor(config: Partial<DDIMSchedulerConfig> = {}) {
    this.config = { ...DDIM_DEFAULTS, ...config };
    this.alphasCumprod = trainingAlphasCumprod(this.config);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
  }

  get timesteps(): number[] {
    return this.schedule;
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.numTrainTimesteps;
    assertInferenceSteps(numInferenceSteps, T);
    this.numInferenceSteps = numInferenceSteps;
    this.schedule = spacedTimesteps(this.config.timestepSpacing, numInferenceSteps, {
      numTrainTimesteps: T,
      stepsOffset: this.config.stepsOffset,
      roundLinspace: true,
    });
  }

  scaleModelInput(sample: Float32Array, _t: number): Float32Array {
    return sample;
  }

  /** Variance sigma_t^2 / eta^2 of the reverse step t -> prevT (DDIM eq. 16). */
  variance(t: number, prevT: number): number {
    const alphaT = this.alphasCumprod[t];
    const alphaPrev = this.alphaCumprodOrFinal(prevT);
    return ((1 - alphaPrev) / (1 - alphaT)) * (1 - alphaT / alphaPrev);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    if (this.numInferenceSteps === null) throw new Error('DDIMScheduler: call setTimesteps before step');
    assertSameLength(sample, modelOutput, 'DDIMScheduler.step modelOutput');
    const { predictionType, clipSample, clipSampleRange, numTrainTimesteps } = this.config;
    const eta = opts.eta ?? 0;

    // diffusers derives the previous timestep from the leading stride for every spacing.
    const prevT = t - Math.floor(numTrainTimesteps / this.numInferenceSteps);
    const alphaT = this.alphasCumprod[t];
    const alphaPrev = this.alphaCumprodOrFinal(prevT);
    const sqrtAlphaT = Math.sqrt(alphaT);
    const sqrtOneMinusAlphaT = Math.sqrt(1 - alphaT);

    const sigmaT = eta * Math.sqrt(this.variance(t, prevT));
    const directionScale = Math.sqrt(1 - alphaPrev - sigmaT * sigmaT);
    const sqrtAlphaPrev = Math.sqrt(alphaPrev);
    const noise = eta > 0 ? stepNoise(sample.length, opts, 'DDIMScheduler') : null;

    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const xT = sample[i];
      const out = modelOutput[i];
      let x0: number;
      let eps: number;
      if (predictionType === 'epsilon') {
        x0 = (xT - sqrtOneMinusAlphaT * out) / sqrtAlphaT;
        eps = out;
      } else if (predictionType === 'v_prediction') {
        x0 = sqrtAlphaT * xT - sqrtOneMinusAlphaT * out;
        eps = sqrtAlphaT * out + sqrtOneMinusAlphaT * xT;
      } else {
        x0 = out;
        eps = (xT - sqrtAlphaT * x0) / sqrtOneMinusAlphaT;
      }
      // Clipping changes x_0 but, as in diffusers, the direction keeps the unclipped eps.
      if (clipSample) x0 = Math.min(clipSampleRange, Math.max(-clipSampleRange, x0));
      predOriginalSample[i] = x0;
      let prev = sqrtAlphaPrev * x0 + directionScale * eps;
      if (noise) prev += sigmaT * noise[i];
      prevSample[i] = prev;
    }
    return { prevSample, predOriginalSample };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    return addNoise(original, noise, t, this.alphasCumprod);
  }

  private alphaCumprodOrFinal(t: number): number {
    return t >= 0 ? this.alphasCumprod[t] : this.finalAlphaCumprod;
  }
}
