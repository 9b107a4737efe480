import { describe, expect, it } from 'vitest';
import {
  DPMSolverMultistepScheduler,
  type DPMSolverMultistepSchedulerConfig,
} from '../../../src/diffusion/schedulers/dpmSolverMultistep';
import { absSumAndMean, dummyModel, dummyNoiseDeter, dummySampleDeter } from './diffusersDummies';
import { oracleEpsilon, oracleVelocity, syntheticX0 } from './oracle';

// get_scheduler_config() of diffusers tests/schedulers/test_scheduler_dpm_multi.py
// (thresholding=False, variance_type=None and lambda_min_clipped=-inf are our defaults).
const DIFFUSERS_TEST_CONFIG: Partial<DPMSolverMultistepSchedulerConfig> = {
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  solverOrder: 2,
  predictionType: 'epsilon',
  algorithmType: 'dpmsolver++',
  solverType: 'midpoint',
  lowerOrderFinal: false,
  eulerAtFinal: false,
  finalSigmasType: 'sigma_min',
};

/**
 * DPMSolverMultistepSchedulerTest.full_loop (10 steps). The torch generator
 * diffusers passes there is only used by the SDE variants, so the loop is
 * deterministic for dpmsolver++.
 */
function fullLoop(config: Partial<DPMSolverMultistepSchedulerConfig> = {}): Float32Array {
  const scheduler = new DPMSolverMultistepScheduler({ ...DIFFUSERS_TEST_CONFIG, ...config });
  scheduler.setTimesteps(10);
  let sample = dummySampleDeter();
  for (const t of scheduler.timesteps) sample = scheduler.step(dummyModel(sample, t), t, sample).prevSample;
  return sample;
}

describe('DPMSolverMultistepScheduler against diffusers test_scheduler_dpm_multi.py', () => {
  // Tolerances are diffusers' own: 1e-3 on the mean (and 1e-2 on the sum where asserted).
  it('test_full_loop_no_noise (and test_switch): mean 0.3301', () => {
    const { mean } = absSumAndMean(fullLoop());
    expect(Math.abs(mean - 0.3301)).toBeLessThan(1e-3);
  });

  it('test_full_loop_with_v_prediction: mean 0.2251', () => {
    const { mean } = absSumAndMean(fullLoop({ predictionType: 'v_prediction' }));
    expect(Math.abs(mean - 0.2251)).toBeLessThan(1e-3);
  });

  it('test_full_loop_with_karras_and_v_prediction: mean 0.2096', () => {
    const { mean } = absSumAndMean(fullLoop({ predictionType: 'v_prediction', useKarrasSigmas: true }));
    expect(Math.abs(mean - 0.2096)).toBeLessThan(1e-3);
  });

  it('test_full_loop_with_noise (dummy_noise_deter, start at step 5): sum 318.4111, mean 0.4146', () => {
    const scheduler = new DPMSolverMultistepScheduler(DIFFUSERS_TEST_CONFIG);
    scheduler.setTimesteps(10);
    const timesteps = scheduler.timesteps.slice(5 * scheduler.order);
    let sample = scheduler.addNoise(dummySampleDeter(), dummyNoiseDeter(), timesteps[0]);
    for (const t of timesteps) sample = scheduler.step(dummyModel(sample, t), t, sample).prevSample;
    const { sum, mean } = absSumAndMean(sample);
    expect(Math.abs(sum - 318.4111)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.4146)).toBeLessThan(1e-3);
  });

  it('test_duplicated_timesteps: asking for T steps yields T timesteps (rounding makes some repeat)', () => {
    const scheduler = new DPMSolverMultistepScheduler(DIFFUSERS_TEST_CONFIG);
    scheduler.setTimesteps(1000);
    expect(scheduler.timesteps).toHaveLength(1000);
    expect(scheduler.sigmas).toHaveLength(1001);
  });
});

describe('DPMSolverMultistepScheduler', () => {
  const SD15 = { betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 } as const;

  it('lays out 20 linspace steps like numpy (499.5 rounds to 500)', () => {
    const scheduler = new DPMSolverMultistepScheduler(SD15);
    scheduler.setTimesteps(20);
    // np.linspace(0, 999, 21).round()[::-1][:-1]
    expect(scheduler.timesteps).toEqual([
      999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50,
    ]);
    expect(scheduler.sigmas[20]).toBe(0);
  });

  it('lands on x0 with an oracle epsilon model (first and second order steps both exact)', () => {
    const scheduler = new DPMSolverMultistepScheduler(SD15);
    scheduler.setTimesteps(12);
    const x0 = syntheticX0(48);
    let sample = scheduler.addNoise(x0, dummyNoiseDeter().subarray(0, 48), scheduler.timesteps[0]);
    for (const t of scheduler.timesteps) {
      sample = scheduler.step(oracleEpsilon(sample, x0, scheduler.alphasCumprod[t]), t, sample).prevSample;
    }
    for (let i = 0; i < x0.length; i++) expect(sample[i]).toBeCloseTo(x0[i], 4);
  });

  it('lands on x0 with an oracle v-prediction model and Karras sigmas', () => {
    const scheduler = new DPMSolverMultistepScheduler({ ...SD15, predictionType: 'v_prediction', useKarrasSigmas: true });
    scheduler.setTimesteps(12);
    const x0 = syntheticX0(48);
    let sample = scheduler.addNoise(x0, dummyNoiseDeter().subarray(0, 48), scheduler.timesteps[0]);
    for (const t of scheduler.timesteps) {
      // Karras sigmas sit between training timesteps, so the oracle uses the scheduler's own sigma.
      const sigma = scheduler.sigmas[scheduler.stepIndex ?? 0];
      sample = scheduler.step(oracleVelocity(sample, x0, 1 / (1 + sigma * sigma)), t, sample).prevSample;
    }
    for (let i = 0; i < x0.length; i++) expect(sample[i]).toBeCloseTo(x0[i], 4);
  });

  it('second-order steps differ from first-order ones once history exists', () => {
    const run = (solverOrder: 1 | 2) => {
      const scheduler = new DPMSolverMultistepScheduler({ ...SD15, solverOrder });
      scheduler.setTimesteps(10);
      let sample = dummySampleDeter();
      const outputs: Float32Array[] = [];
      for (const t of scheduler.timesteps.slice(0, 3)) {
        sample = scheduler.step(dummyModel(sample, t), t, sample).prevSample;
        outputs.push(sample);
      }
      return outputs;
    };
    const [first1, , third1] = run(1);
    const [first2, , third2] = run(2);
    expect(first2).toEqual(first1); // no history yet: both take a first-order step
    expect(Math.abs(third2[500] - third1[500])).toBeGreaterThan(1e-6);
  });

  it('rejects algorithm types and orders it does not implement', () => {
    expect(() => new DPMSolverMultistepScheduler({ algorithmType: 'sde-dpmsolver++' as 'dpmsolver++' })).toThrow();
    expect(() => new DPMSolverMultistepScheduler({ solverOrder: 3 as 2 })).toThrow();
  });
});
