import { describe, expect, it } from 'vitest';
import { DDIMScheduler, type DDIMSchedulerConfig } from '../../../src/diffusion/schedulers/ddim';
import { absSumAndMean, dummyModel, dummyNoiseDeter, dummySampleDeter } from './diffusersDummies';
import { oracleEpsilon, oracleVelocity, syntheticX0 } from './oracle';

// get_scheduler_config() of diffusers tests/schedulers/test_scheduler_ddim.py
const DIFFUSERS_TEST_CONFIG: Partial<DDIMSchedulerConfig> = {
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  clipSample: true,
};

/** DDIMSchedulerTest.full_loop: 10 steps, eta = 0, from dummy_sample_deter. */
function fullLoop(config: Partial<DDIMSchedulerConfig> = {}): Float32Array {
  const scheduler = new DDIMScheduler({ ...DIFFUSERS_TEST_CONFIG, ...config });
  scheduler.setTimesteps(10);
  let sample = dummySampleDeter();
  for (const t of scheduler.timesteps) {
    sample = scheduler.step(dummyModel(sample, t), t, sample, { eta: 0 }).prevSample;
  }
  return sample;
}

describe('DDIMScheduler against diffusers test_scheduler_ddim.py', () => {
  // Tolerances are diffusers' own: 1e-2 on the sum, 1e-3 on the mean.
  it('test_full_loop_no_noise: sum 172.0067, mean 0.223967', () => {
    const { sum, mean } = absSumAndMean(fullLoop());
    expect(Math.abs(sum - 172.0067)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.223967)).toBeLessThan(1e-3);
  });

  it('test_full_loop_with_v_prediction: sum 52.5302, mean 0.0684', () => {
    const { sum, mean } = absSumAndMean(fullLoop({ predictionType: 'v_prediction' }));
    expect(Math.abs(sum - 52.5302)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.0684)).toBeLessThan(1e-3);
  });

  it('test_full_loop_with_set_alpha_to_one: sum 149.8295, mean 0.1951', () => {
    const { sum, mean } = absSumAndMean(fullLoop({ setAlphaToOne: true, betaStart: 0.01 }));
    expect(Math.abs(sum - 149.8295)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.1951)).toBeLessThan(1e-3);
  });

  it('test_full_loop_with_no_set_alpha_to_one: sum 149.0784, mean 0.1941', () => {
    const { sum, mean } = absSumAndMean(fullLoop({ setAlphaToOne: false, betaStart: 0.01 }));
    expect(Math.abs(sum - 149.0784)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.1941)).toBeLessThan(1e-3);
  });

  it('test_full_loop_with_noise (dummy_noise_deter, start at step 8): sum 354.5418, mean 0.4616', () => {
    const scheduler = new DDIMScheduler(DIFFUSERS_TEST_CONFIG);
    scheduler.setTimesteps(10);
    const timesteps = scheduler.timesteps.slice(8 * scheduler.order);
    let sample = scheduler.addNoise(dummySampleDeter(), dummyNoiseDeter(), timesteps[0]);
    for (const t of timesteps) sample = scheduler.step(dummyModel(sample, t), t, sample).prevSample;
    const { sum, mean } = absSumAndMean(sample);
    expect(Math.abs(sum - 354.5418)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.4616)).toBeLessThan(1e-3);
  });

  it('test_steps_offset: 5 steps with steps_offset=1 give [801, 601, 401, 201, 1]', () => {
    const scheduler = new DDIMScheduler({ ...DIFFUSERS_TEST_CONFIG, stepsOffset: 1 });
    scheduler.setTimesteps(5);
    expect(scheduler.timesteps).toEqual([801, 601, 401, 201, 1]);
  });

  it('test_variance: _get_variance values within 1e-5', () => {
    const scheduler = new DDIMScheduler(DIFFUSERS_TEST_CONFIG);
    expect(Math.abs(scheduler.variance(0, 0) - 0.0)).toBeLessThan(1e-5);
    expect(Math.abs(scheduler.variance(420, 400) - 0.14771)).toBeLessThan(1e-5);
    expect(Math.abs(scheduler.variance(980, 960) - 0.3246)).toBeLessThan(1e-5);
    expect(Math.abs(scheduler.variance(487, 486) - 0.00979)).toBeLessThan(1e-5);
    expect(Math.abs(scheduler.variance(999, 998) - 0.02)).toBeLessThan(1e-5);
  });
});

describe('DDIMScheduler', () => {
  it('uses the SD1.5 grid (leading, steps_offset=1): 50 steps run 981, 961, ..., 1', () => {
    const scheduler = new DDIMScheduler({ stepsOffset: 1 });
    scheduler.setTimesteps(50);
    expect(scheduler.timesteps).toHaveLength(50);
    expect(scheduler.timesteps[0]).toBe(981);
    expect(scheduler.timesteps[49]).toBe(1);
    expect(new Set(scheduler.timesteps.slice(1).map((t, i) => scheduler.timesteps[i] - t))).toEqual(new Set([20]));
  });

  it('supports trailing spacing (starts at t = T-1)', () => {
    const scheduler = new DDIMScheduler({ timestepSpacing: 'trailing' });
    scheduler.setTimesteps(3);
    expect(scheduler.timesteps).toEqual([999, 666, 332]); // np.round(np.arange(1000, 0, -1000/3)) - 1
  });

  it('recovers x0 exactly from an oracle epsilon model when the last alpha is 1', () => {
    const scheduler = new DDIMScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, clipSample: false });
    scheduler.setTimesteps(20);
    const x0 = syntheticX0(64);
    let sample = scheduler.addNoise(x0, dummyNoiseDeter().subarray(0, 64), scheduler.timesteps[0]);
    for (const t of scheduler.timesteps) {
      const eps = oracleEpsilon(sample, x0, scheduler.alphasCumprod[t]);
      sample = scheduler.step(eps, t, sample).prevSample;
    }
    for (let i = 0; i < x0.length; i++) expect(sample[i]).toBeCloseTo(x0[i], 4);
  });

  it('recovers x0 from an oracle v-prediction model', () => {
    const scheduler = new DDIMScheduler({ predictionType: 'v_prediction', clipSample: false });
    scheduler.setTimesteps(10);
    const x0 = syntheticX0(64);
    let sample = scheduler.addNoise(x0, dummyNoiseDeter().subarray(0, 64), scheduler.timesteps[0]);
    for (const t of scheduler.timesteps) {
      const v = oracleVelocity(sample, x0, scheduler.alphasCumprod[t]);
      sample = scheduler.step(v, t, sample).prevSample;
    }
    for (let i = 0; i < x0.length; i++) expect(sample[i]).toBeCloseTo(x0[i], 4);
  });

  it('is stochastic only when eta > 0, and then demands noise', () => {
    const scheduler = new DDIMScheduler();
    scheduler.setTimesteps(10);
    const sample = dummySampleDeter();
    const t = scheduler.timesteps[3];
    const output = dummyModel(sample, t);
    const deterministic = scheduler.step(output, t, sample).prevSample;
    expect(scheduler.step(output, t, sample, { eta: 0 }).prevSample).toEqual(deterministic);
    expect(() => scheduler.step(output, t, sample, { eta: 1 })).toThrow(/stochastic/);
    const noisy = scheduler.step(output, t, sample, { eta: 1, varianceNoise: dummyNoiseDeter() }).prevSample;
    const sigma = Math.sqrt(scheduler.variance(t, t - 100));
    const zeroNoise = scheduler.step(output, t, sample, { eta: 1, varianceNoise: new Float32Array(sample.length) }).prevSample;
    // With eta = 1 the noise enters with weight sigma_t exactly.
    const noise = dummyNoiseDeter();
    for (const i of [0, 100, 767]) expect(noisy[i] - zeroNoise[i]).toBeCloseTo(sigma * noise[i], 6);
  });

  it('rejects step before setTimesteps and mismatched lengths', () => {
    const scheduler = new DDIMScheduler();
    expect(() => scheduler.step(new Float32Array(4), 1, new Float32Array(4))).toThrow(/setTimesteps/);
    scheduler.setTimesteps(10);
    expect(() => scheduler.step(new Float32Array(3), 901, new Float32Array(4))).toThrow(RangeError);
    expect(() => scheduler.setTimesteps(1001)).toThrow(RangeError);
  });
});
