import { describe, expect, it } from 'vitest';
import {
  DDIMScheduler,
  DPMSolverMultistepScheduler,
  EulerDiscreteScheduler,
  SCHEDULER_NAMES,
  SD15_SCHEDULER_CONFIG,
  createScheduler,
  schedulerConfigFromDiffusers,
} from '../../../src/diffusion/schedulers';
import { randn } from '../../../src/diffusion/random';

// The scheduler/scheduler_config.json shipped with runwayml/stable-diffusion-v1-5 (PNDM class, shared schedule).
const SD15_DIFFUSERS_JSON = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

describe('createScheduler', () => {
  it('builds each named scheduler', () => {
    expect(createScheduler('ddim')).toBeInstanceOf(DDIMScheduler);
    expect(createScheduler('euler')).toBeInstanceOf(EulerDiscreteScheduler);
    expect(createScheduler('dpmpp2m')).toBeInstanceOf(DPMSolverMultistepScheduler);
    expect(() => createScheduler('pndm' as 'ddim')).toThrow(/unknown scheduler/);
  });

  it('pins dpmpp2m to second order even if the config says otherwise', () => {
    const scheduler = createScheduler('dpmpp2m', { solverOrder: 1 }) as DPMSolverMultistepScheduler;
    expect(scheduler.config.solverOrder).toBe(2);
  });

  it('maps a diffusers scheduler_config.json onto our config names', () => {
    const config = schedulerConfigFromDiffusers(SD15_DIFFUSERS_JSON);
    expect(config).toEqual({
      betaEnd: 0.012,
      betaSchedule: 'scaled_linear',
      betaStart: 0.00085,
      numTrainTimesteps: 1000,
      setAlphaToOne: false,
      stepsOffset: 1,
      clipSample: false,
    });
    expect(SD15_SCHEDULER_CONFIG).toMatchObject(config);
  });

  it.each(SCHEDULER_NAMES)('%s runs an SD1.5-configured 8-step loop to finite output', (name) => {
    const scheduler = createScheduler(name, SD15_SCHEDULER_CONFIG);
    scheduler.setTimesteps(8);
    expect(scheduler.timesteps).toHaveLength(8);
    let latents: Float32Array = randn(64, 1).map((x) => x * scheduler.initNoiseSigma);
    for (const t of scheduler.timesteps) {
      const input = scheduler.scaleModelInput(latents, t);
      const eps = input.map((x) => 0.9 * x); // a crude denoiser: most of the input is noise
      latents = scheduler.step(eps, t, latents).prevSample;
    }
    expect(latents.every(Number.isFinite)).toBe(true);
    // Starting from unit-variance noise * initNoiseSigma, the result must have shrunk towards data scale.
    const rms = Math.sqrt(latents.reduce((s, x) => s + x * x, 0) / latents.length);
    expect(rms).toBeLessThan(1.5);
  });
});
