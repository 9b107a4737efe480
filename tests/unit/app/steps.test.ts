import { describe, expect, test } from 'vitest';
import { currentStep, stepStates, type FlowFacts } from '../../../src/app/steps';

const fresh: FlowFacts = { hasSelfie: false, cropConfirmed: false, personalizing: false, personalized: false, personalImages: false, downloaded: false };

describe('stepper', () => {
  test('a fresh page: upload is current, the rest locked', () => {
    expect(stepStates(fresh)).toEqual({ upload: 'current', crop: 'locked', personalize: 'locked', styles: 'locked', download: 'locked' });
  });

  test('the current step walks forward and every reached step stays reachable', () => {
    expect(currentStep({ ...fresh, hasSelfie: true })).toBe('crop');
    expect(stepStates({ ...fresh, hasSelfie: true, cropConfirmed: true })).toEqual({
      upload: 'done',
      crop: 'done',
      personalize: 'current',
      styles: 'locked',
      download: 'locked',
    });
    const ready = { ...fresh, hasSelfie: true, cropConfirmed: true, personalized: true };
    expect(stepStates(ready)).toEqual({ upload: 'done', crop: 'done', personalize: 'done', styles: 'current', download: 'open' });
    expect(stepStates({ ...ready, personalImages: true })).toMatchObject({ styles: 'done', download: 'current' });
    expect(stepStates({ ...ready, personalImages: true, downloaded: true })).toMatchObject({ styles: 'current', download: 'done' });
  });

  test('a personalization chosen from the library (or restored after a reload) opens styles without ticking the upload', () => {
    // no photo is on screen, so Upload stays open rather than claiming a photo that is not there
    expect(stepStates({ ...fresh, personalized: true })).toEqual({ upload: 'open', crop: 'locked', personalize: 'done', styles: 'current', download: 'open' });
  });

  test('a new photo waiting for its crop is current even while older weights are active', () => {
    const s = stepStates({ ...fresh, hasSelfie: true, personalized: true, personalImages: true });
    expect(s).toEqual({ upload: 'done', crop: 'current', personalize: 'done', styles: 'done', download: 'open' });
  });

  test('a running fine-tune is the current step even with older weights active', () => {
    const s = stepStates({ ...fresh, hasSelfie: true, cropConfirmed: true, personalized: true, personalizing: true });
    expect(s.personalize).toBe('current');
    expect(s.styles).toBe('open');
  });
});
