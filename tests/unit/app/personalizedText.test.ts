import { describe, expect, test } from 'vitest';
import { fineTuneSummary, formatStrength, loraImportSummary, weightsRankText } from '../../../src/app/personalizedText';

const settings = { steps: 60, learningRate: 0.01, rank: 4, seed: 3 };

describe('fineTuneSummary', () => {
  test('a full run names the steps it ran', () => {
    expect(fineTuneSummary(settings, 60)).toBe('60 steps, lr 0.01, seed 3');
    expect(fineTuneSummary({ ...settings, steps: 1 }, 1)).toBe('1 step, lr 0.01, seed 3');
    expect(fineTuneSummary(settings)).toBe('60 steps, lr 0.01, seed 3');
  });

  test('a cancelled run shows the steps actually done, not the requested count', () => {
    expect(fineTuneSummary(settings, 2, 'cancelled')).toBe('2 of 60 steps — stopped early: cancelled, lr 0.01, seed 3');
    expect(fineTuneSummary(settings, 0, 'cancelled')).toBe('0 of 60 steps — stopped early: cancelled, lr 0.01, seed 3');
    expect(fineTuneSummary(settings, 5)).toBe('5 of 60 steps — stopped early, lr 0.01, seed 3');
  });

  test('a stop whose step count is unknown says the count was the request', () => {
    expect(fineTuneSummary(settings, undefined, 'non-finite loss at step 4: restored step 3')).toBe(
      '60 steps requested — stopped early: non-finite loss at step 4: restored step 3, lr 0.01, seed 3',
    );
  });

  test('no settings: nothing, or just why it stopped', () => {
    expect(fineTuneSummary(undefined)).toBeUndefined();
    expect(fineTuneSummary(undefined, 3, 'cancelled')).toBe('stopped early: cancelled');
  });
});

describe('LoRA import words', () => {
  test('summary names format, strength, layers and ignored modules', () => {
    expect(loraImportSummary({ format: 'kohya', applied: 16, ignored: [] }, 1, 16)).toBe('kohya LoRA at strength 1: applied to 16 of 16 layers');
    expect(loraImportSummary({ format: 'peft', applied: 3, ignored: ['unet.conv_in'] }, 0.75, 16)).toBe(
      'PEFT LoRA at strength 0.75: applied to 3 of 16 layers, 1 module ignored (no slot here)',
    );
    expect(loraImportSummary({ format: 'mixed', applied: 1, ignored: ['a', 'b'] }, 0.5, 1)).toBe(
      'kohya + PEFT LoRA at strength 0.5: applied to 1 of 1 layer, 2 modules ignored (no slot here)',
    );
  });

  test('strength is shown without float noise', () => {
    expect(formatStrength(0.1 + 0.2)).toBe('0.3');
    expect(formatStrength(1)).toBe('1');
    expect(formatStrength(1.25)).toBe('1.25');
  });
});

describe('weightsRankText', () => {
  test("the paper's relaxation shows the LiDB and its residual; otherwise the LiDB's rank", () => {
    expect(weightsRankText({ rank: 1, settings: { ...settings, relaxation: 'full-space' } })).toBe('LiDB rank 1 + rank-4 residual');
    expect(weightsRankText({ rank: 4, settings: { ...settings, relaxation: 'aux-subspace' } })).toBe('rank 4');
    expect(weightsRankText({ rank: 4 })).toBe('rank 4');
  });
});
