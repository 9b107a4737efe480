/**
 * Multistep DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: Fast Solver for
 * Guided Sampling of Diffusion Probabilistic Models", Algorithm 2), the data-
 * prediction solver known as "DPM++ 2M", mirroring diffusers'
 * DPMSolverMultistepScheduler with algorithm_type 'dpmsolver++'.
 *
 * Notation: `sigmas` holds the k-diffusion noise levels sqrt((1-ab)/ab); from
 * each one the VP coefficients alpha_t = 1/sqrt(sigma^2+1), sigma_t =
 * sigma * alpha_t and the half-log-SNR lambda_t = log(alpha_t / sigma_t)
 * are derived. Each step integrates the ODE in lambda over h = lambda_t -
 * lambda_s using the current and previous data predictions D0, D1.
 */

import { interpOnIndexGrid, roundHalfEven } from './numpyCompat';
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

export interface DPMSolverMultistepSchedulerConfig extends BaseSchedulerConfig {
  /** 1 = DPM-Solver++(1) (equivalent to DDIM), 2 = DPM-Solver++(2M). */
  solverOrder: 1 | 2;
  /** Only the data-prediction variant is implemented; it is the one recommended for guided sampling. */
  algorithmType: 'dpmsolver++';
  /** How the second-order term is formed; 'midpoint' is the paper's and diffusers' default. */
  solverType: 'midpoint' | 'heun';
  /** Fall back to lower orders on the last steps when there are fewer than 15 steps (stabilises few-step runs). */
  lowerOrderFinal: boolean;
  /** Always take a first-order step at the very end. */
  eulerAtFinal: boolean;
  useKarrasSigmas: boolean;
  /** Sigma after the last step: 0 (fully denoised) or the smallest training sigma. */
  finalSigmasType: 'zero' | 'sigma_min';
  /** Drop timesteps whose lambda is below this, for cosine schedules whose last steps are unstable. */
  lambdaMinClipped: number;
}

export const DPM_SOLVER_MULTISTEP_DEFAULTS: DPMSolverMultistepSchedulerConfig = {
  ...BASE_DEFAULTS,
  timestepSpacing: 'linspace',
  solverOrder: 2,
  algorithmType: 'dpmsolver++',
  solverType: 'midpoint',
  lowerOrderFinal: true,
  eulerAtFinal: false,
  useKarrasSigmas: false,
  finalSigmasType: 'zero',
  lambdaMinClipped: -Infinity,
};

interface VpCoefficients {
  alphaT: number;
  sigmaT: number;
  lambdaT: number;
}

function vpCoefficients(sigma: number): VpCoefficients {
  const alphaT = 1 / Math.sqrt(sigma * sigma + 1);
  const sigmaT = sigma * alphaT;
  return { alphaT, sigmaT, lambdaT: Math.log(alphaT) - Math.log(sigmaT) };
}

export class DPMSolverMultistepScheduler implements Scheduler {
  readonly order = 1;
  readonly initNoiseSigma = 1.0;
  readonly config: DPMSolverMultistepSchedulerConfig;
  readonly alphasCumprod: Float64Array;
  /** k-diffusion sigma per inference step plus the final sigma. */
  sigmas: number[] = [];
  private schedule: number[] = [];
  private readonly trainingSigmas: Float64Array;
  private readonly counter = new StepCounter();
  /** Data predictions of the previous steps, most recent last. */
  private modelOutputs: Float32Array[] = [];
  private lowerOrderNums = 0;

  constructor(config: Partial<DPMSolverMultistepSchedulerConfig> = {}) {
    this.config = { ...DPM_SOLVER_MULTISTEP_DEFAULTS, ...config };
    if (this.config.algorithmType !== 'dpmsolver++') {
      throw new Error(`DPMSolverMultistepScheduler: only algorithmType 'dpmsolver++' is implemented`);
    }
    if (this.config.solverOrder !== 1 && this.config.solverOrder !== 2) {
      throw new Error(`DPMSolverMultistepScheduler: solverOrder must be 1 or 2, got ${this.config.solverOrder}`);
    }
    this.alphasCumprod = trainingAlphasCumprod(this.config);
    this.trainingSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
  }

  get timesteps(): number[] {
    return this.schedule;
  }

  get stepIndex(): number | null {
    return this.counter.current;
  }

  setBeginIndex(beginIndex: number): void {
    this.counter.setBeginIndex(beginIndex);
  }

  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps: T, stepsOffset } = this.config;
    assertInferenceSteps(numInferenceSteps, T);
    // The final step goes to the last sigma itself, so the grid's point nearest t = 0 is dropped.
    let timesteps = spacedTimesteps(this.config.timestepSpacing, numInferenceSteps, {
      numTrainTimesteps: T,
      stepsOffset,
      timestepLimit: T - this.clippedTimestepCount(),
      dropLast: true,
      roundLinspace: true,
    });

    let sigmas: number[];
    if (this.config.useKarrasSigmas) {
      const descending = Array.from(this.trainingSigmas).reverse();
      sigmas = karrasSigmas(descending[descending.length - 1], descending[0], numInferenceSteps);
      const logSigmas = this.trainingSigmas.map(Math.log);
      timesteps = sigmas.map((s) => sigmaToTimestep(s, logSigmas));
      // Integer timesteps for the model, except on the cosine schedule where diffusers keeps them fractional
      // before truncating to int64.
      timesteps = timesteps.map(this.config.betaSchedule === 'squaredcos_cap_v2' ? Math.trunc : roundHalfEven);
    } else {
      sigmas = timesteps.map((t) => interpOnIndexGrid(t, this.trainingSigmas));
    }
    const finalSigma = this.config.finalSigmasType === 'zero' ? 0 : this.trainingSigmas[0];
    this.sigmas = [...sigmas, finalSigma];
    this.schedule = timesteps;
    this.modelOutputs = [];
    this.lowerOrderNums = 0;
    this.counter.reset();
  }

  scaleModelInput(sample: Float32Array, _t: number): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, _opts: StepOptions = {}): StepResult {
    if (this.schedule.length === 0) throw new Error('DPMSolverMultistepScheduler: call setTimesteps before step');
    assertSameLength(sample, modelOutput, 'DPMSolverMultistepScheduler.step modelOutput');
    const index = this.counter.resolve(t, (x) => this.indexForTimestep(x));
    const stepsLeft = this.schedule.length - index;
    const fewSteps = this.schedule.length < 15;
    const isFinal = stepsLeft === 1;
    // A first-order final step avoids the 2nd-order term blowing up as sigma -> 0
    // (h -> inf when the final sigma is zero).
    const forceFirstOrder =
      isFinal &&
      (this.config.eulerAtFinal ||
        (this.config.lowerOrderFinal && fewSteps) ||
        this.config.finalSigmasType === 'zero');

    const x0Pred = this.dataPrediction(modelOutput, sample, this.sigmas[index]);
    this.modelOutputs.push(x0Pred);
    if (this.modelOutputs.length > this.config.solverOrder) this.modelOutputs.shift();

    const prevSample =
      this.config.solverOrder === 1 || this.lowerOrderNums < 1 || forceFirstOrder
        ? this.firstOrderUpdate(x0Pred, sample, index)
        : this.secondOrderUpdate(sample, index);

    if (this.lowerOrderNums < this.config.solverOrder) this.lowerOrderNums += 1;
    this.counter.advance();
    return { prevSample, predOriginalSample: x0Pred };
  }

  /** x_t = alpha_t x_0 + sigma_t eps at the schedule position of `t`. */
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    assertSameLength(original, noise, 'DPMSolverMultistepScheduler.addNoise noise');
    const index = this.counter.current ?? this.counter.beginIndex ?? this.indexForTimestep(t);
    const { alphaT, sigmaT } = vpCoefficients(this.sigmas[index]);
    return original.map((x, i) => alphaT * x + sigmaT * noise[i]);
  }

  /**
   * Position of `t` in the schedule: the second occurrence when duplicated
   * (see EulerDiscreteScheduler.indexForTimestep), the last step when absent.
   */
  indexForTimestep(t: number): number {
    return scheduleIndexOf(this.schedule, t) ?? this.schedule.length - 1;
  }

  /** Number of training timesteps at the noisy end whose lambda falls below lambdaMinClipped. */
  private clippedTimestepCount(): number {
    let count = 0;
    for (let t = this.alphasCumprod.length - 1; t >= 0; t--) {
      const ab = this.alphasCumprod[t];
      const lambda = 0.5 * Math.log(ab) - 0.5 * Math.log(1 - ab);
      if (lambda < this.config.lambdaMinClipped) count++;
      else break;
    }
    return count;
  }

  /** DPM-Solver++ works on x_0 predictions whatever the model was trained to output. */
  private dataPrediction(modelOutput: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    const { predictionType } = this.config;
    if (predictionType === 'sample') return Float32Array.from(modelOutput);
    const { alphaT, sigmaT } = vpCoefficients(sigma);
    const out = new Float32Array(sample.length);
    if (predictionType === 'epsilon') {
      for (let i = 0; i < out.length; i++) out[i] = (sample[i] - sigmaT * modelOutput[i]) / alphaT;
    } else {
      for (let i = 0; i < out.length; i++) out[i] = alphaT * sample[i] - sigmaT * modelOutput[i];
    }
    return out;
  }

  /** DPM-Solver++(1), Lu et al. eq. (7) — identical to a DDIM step. */
  private firstOrderUpdate(x0Pred: Float32Array, sample: Float32Array, index: number): Float32Array {
    const t = vpCoefficients(this.sigmas[index + 1]);
    const s = vpCoefficients(this.sigmas[index]);
    const h = t.lambdaT - s.lambdaT;
    const sampleScale = t.sigmaT / s.sigmaT;
    const dataScale = -t.alphaT * (Math.exp(-h) - 1);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) out[i] = sampleScale * sample[i] + dataScale * x0Pred[i];
    return out;
  }

  /** DPM-Solver++(2M), Lu et al. Algorithm 2. */
  private secondOrderUpdate(sample: Float32Array, index: number): Float32Array {
    const t = vpCoefficients(this.sigmas[index + 1]);
    const s0 = vpCoefficients(this.sigmas[index]);
    const s1 = vpCoefficients(this.sigmas[index - 1]);
    const m0 = this.modelOutputs[this.modelOutputs.length - 1];
    const m1 = this.modelOutputs[this.modelOutputs.length - 2];
    const h = t.lambdaT - s0.lambdaT;
    const h0 = s0.lambdaT - s1.lambdaT;
    const r0 = h0 / h;
    const expm1NegH = Math.exp(-h) - 1;
    const sampleScale = t.sigmaT / s0.sigmaT;
    const d0Scale = -t.alphaT * expm1NegH;
    // D1 = (m0 - m1) / r0 is a finite-difference estimate of the data prediction's slope in lambda.
    const d1Scale =
      this.config.solverType === 'midpoint' ? -0.5 * t.alphaT * expm1NegH : t.alphaT * (expm1NegH / h + 1);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const d1 = (m0[i] - m1[i]) / r0;
      out[i] = sampleScale * sample[i] + d0Scale * m0[i] + d1Scale * d1;
    }
    return out;
  }
}
