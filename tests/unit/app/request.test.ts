import { describe, expect, test } from 'vitest';
import { buildFineTuneSettings, buildRequest, MAX_IMAGES, MAX_SEED, type FineTuneFields, type Settings } from '../../../src/app/request';
import { STYLE_PRESETS, stylePrompt } from '../../../src/packs/stylePresets';

const FORM: Settings = { prompt: 'a photo of a face', negativePrompt: ' blurry ', seed: '7', steps: '20', guidance: '7.5', scheduler: 'ddim', count: '2' };

describe('buildRequest', () => {
  test('plain text-to-image: the prompt count times, trimmed negative prompt', () => {
    const built = buildRequest(FORM);
    if (typeof built === 'string') throw new Error(built);
    expect(built.request).toEqual({
      prompts: ['a photo of a face', 'a photo of a face'],
      negativePrompt: 'blurry',
      seed: 7,
      steps: 20,
      guidance: 7.5,
      scheduler: 'ddim',
    });
    expect(built.items).toHaveLength(2);
  });

  test('styles and own prompts with a personalization: one image per style, trigger inserted', () => {
    const [a, b] = STYLE_PRESETS;
    const built = buildRequest({ ...FORM, count: '1', negativePrompt: '' }, { styleIds: [a.id, b.id], trigger: 'sks', personalized: true });
    if (typeof built === 'string') throw new Error(built);
    expect(built.request.prompts).toEqual([stylePrompt(a, 'sks'), stylePrompt(b, 'sks'), 'a photo of a sks face']);
    expect(built.request).not.toHaveProperty('negativePrompt');
    expect(built.items.map((i) => i.label)).toEqual([a.label, b.label, 'Your prompt']);
  });

  test('nothing to draw', () => {
    expect(buildRequest({ ...FORM, prompt: ' \n ' })).toBe('Write a prompt first.');
    expect(buildRequest({ ...FORM, prompt: '' }, { styleIds: [], trigger: 'sks', personalized: true })).toBe('Pick a style or write a prompt first.');
  });

  test.each([
    [{ seed: '-3' }, 'Seed must be a whole number'],
    [{ seed: '' }, 'Seed must be a whole number'],
    [{ seed: '1.5' }, 'Seed must be a whole number'],
    [{ seed: String(MAX_SEED + 1) }, 'Seed must be a whole number'],
    [{ steps: '0' }, 'Steps must be'],
    [{ steps: '' }, 'Steps must be'],
    [{ steps: '151' }, 'Steps must be'],
    [{ guidance: 'x' }, 'Guidance must be'],
    [{ guidance: '31' }, 'Guidance must be'],
    [{ count: '5' }, 'Images per prompt'],
    [{ count: '' }, 'Images per prompt'],
  ] as [Partial<Settings>, string][])('%o is refused with a message', (patch, message) => {
    const r = buildRequest({ ...FORM, ...patch });
    expect(typeof r).toBe('string');
    expect(r).toContain(message);
  });

  test('the largest seed is accepted', () => {
    const r = buildRequest({ ...FORM, seed: String(MAX_SEED) });
    expect(typeof r === 'string' ? r : r.request.seed).toBe(MAX_SEED);
  });

  test(`more than ${MAX_IMAGES} images at once is refused, saying how many`, () => {
    const ids = STYLE_PRESETS.slice(0, 7).map((p) => p.id);
    const r = buildRequest({ ...FORM, prompt: '', count: '2' }, { styleIds: ids, trigger: 'sks', personalized: true });
    expect(r).toBe(`That is 14 images (7 prompts × 2); make at most ${MAX_IMAGES} at once.`);
  });
});

describe('buildFineTuneSettings', () => {
  const F: FineTuneFields = { steps: '40', learningRate: '1e-3', rank: '4', seed: '0', relaxation: 'full-space' };

  test('numbers as typed become settings', () => {
    expect(buildFineTuneSettings(F)).toEqual({ steps: 40, learningRate: 0.001, rank: 4, seed: 0, relaxation: 'full-space' });
    expect(buildFineTuneSettings({ ...F, steps: '0', learningRate: '0.0005', relaxation: 'aux-subspace' })).toEqual({ steps: 0, learningRate: 0.0005, rank: 4, seed: 0, relaxation: 'aux-subspace' });
    expect(buildFineTuneSettings({ ...F, relaxation: 'sideways' as never })).toMatch(/^Rank relaxation must be one of full-space, aux-subspace/);
  });

  test.each([
    [{ steps: '-1' }, 'Fine-tune steps'],
    [{ steps: '2.5' }, 'Fine-tune steps'],
    [{ steps: '' }, 'Fine-tune steps'],
    [{ learningRate: '0' }, 'Learning rate'],
    [{ learningRate: 'fast' }, 'Learning rate'],
    [{ learningRate: '2' }, 'Learning rate'],
    [{ rank: '0' }, 'Rank'],
    [{ rank: '65' }, 'Rank'],
    [{ seed: '-1' }, 'Fine-tune seed must be a whole number'],
  ] as [Partial<FineTuneFields>, string][])('%o is refused', (patch, message) => {
    const r = buildFineTuneSettings({ ...F, ...patch });
    expect(typeof r).toBe('string');
    expect(r).toContain(message);
  });
});
