import { describe, expect, test } from 'vitest';
import { generateProgressText, personalizeFraction, personalizeProgressText, statusText } from '../../../src/app/statusText';
import type { PackState } from '../../../src/app/store';

const pack = (patch: Partial<PackState>): PackState => ({ phase: 'ready', loadedBytes: 0, totalBytes: 0, fromCache: false, name: 'Tiny', ...patch });

describe('statusText', () => {
  test('pack phases', () => {
    expect(statusText(pack({ phase: 'idle' }), null)).toBe('Starting…');
    expect(statusText(pack({ phase: 'listing' }), null)).toBe('Looking for model packs…');
    expect(statusText(pack({ phase: 'loading', loadedBytes: 1_200_000, totalBytes: 6_200_000 }), null)).toBe('Downloading Tiny: 1.2 / 6.2 MB');
    expect(statusText(pack({ phase: 'loading', fromCache: true, file: 'unet/model.onnx' }), null)).toBe('Loading Tiny from cache…');
    // before the first progress report: neither "Downloading" nor "from cache" is known yet
    expect(statusText(pack({ phase: 'loading', totalBytes: 9_600_000 }), null)).toBe('Loading Tiny…');
    expect(statusText(pack({ phase: 'loading', totalBytes: 9_600_000, file: 'manifest.json' }), null)).toBe('Downloading Tiny: 0.0 / 9.6 MB');
    expect(statusText(pack({ downloadedBytes: 5 }), null)).toBe('Ready');
    expect(statusText(pack({ downloadedBytes: 0 }), null)).toBe('Ready (from cache)');
    expect(statusText(pack({ phase: 'error' }), null)).toBe('Could not load Tiny');
  });

  test('a pack made in this browser from a checkpoint is read from its storage, never downloaded', () => {
    const stored = { manifestUrl: 'stored-pack:sd15-mini', name: 'Stable Diffusion (sd15-mini)' };
    expect(statusText(pack({ ...stored, phase: 'loading', fromCache: true, loadedBytes: 1_000_000, totalBytes: 3_000_000, file: 'unet/model.onnx' }), null))
      .toBe("Loading Stable Diffusion (sd15-mini) from this browser's storage: 1.0 / 3.0 MB");
    expect(statusText(pack({ ...stored, downloadedBytes: 0 }), null)).toBe('Ready (stored in this browser)');
    expect(statusText(pack({ ...stored }), null, { task: 'add-model' })).toBe('Converting the checkpoint into a model pack in this browser…');
  });

  test('ready with a personalization names it; generating wins over everything', () => {
    expect(statusText(pack({}), null, { active: 'Anna' })).toBe('Ready · personalized: Anna');
    const p = { image: 1, images: 2, step: 5, steps: 10 };
    expect(statusText(pack({}), p, { task: 'generate', active: 'Anna' })).toBe('Generating image 2/2, step 5/10');
  });

  test('personalization stages, with the loss and the time left', () => {
    const s = (extras: Parameters<typeof statusText>[2]) => statusText(pack({}), null, extras);
    expect(s({ task: 'personalize' })).toBe('Personalizing: starting…');
    expect(s({ task: 'personalize', personalize: { stage: 'hypernetwork', step: 0, steps: 40 } })).toBe(
      'Personalizing: predicting your weights with the hypernetwork',
    );
    expect(s({ task: 'personalize', personalize: { stage: 'fine-tune', step: 3, steps: 40, loss: 0.12345, etaMs: 42_100 } })).toBe(
      'Personalizing: fine-tune step 3/40, loss 0.1235, about 43 s left',
    );
    expect(s({ task: 'personalize', cancelling: true, personalize: { stage: 'fine-tune', step: 3, steps: 40 } })).toBe(
      'Cancelling: keeping the last good weights…',
    );
    expect(s({ task: 'selfie' })).toBe('Reading your photo and looking for a face…');
    expect(s({ task: 'import' })).toMatch(/^Checking the LiDB file/);
  });

  test('generation time left is extrapolated from the pace so far', () => {
    // 5 of 20 steps in 10 s → 15 more steps at 2 s each
    expect(generateProgressText({ image: 0, images: 2, step: 5, steps: 10, elapsedMs: 10_000 })).toBe(
      'Generating image 1/2, step 5/10, about 30 s left',
    );
  });
});

describe('personalizeFraction', () => {
  test('hypernetwork and VAE encode count as one step each before the fine-tune steps', () => {
    expect(personalizeFraction({ stage: 'hypernetwork', step: 0, steps: 8 })).toBe(0);
    expect(personalizeFraction({ stage: 'vae-encode', step: 0, steps: 8 })).toBeCloseTo(0.1);
    expect(personalizeFraction({ stage: 'fine-tune', step: 3, steps: 8 })).toBeCloseTo(0.5);
    expect(personalizeFraction({ stage: 'fine-tune', step: 8, steps: 8 })).toBe(1);
    expect(personalizeFraction({ stage: 'done', step: 8, steps: 8 })).toBe(1);
  });

  test('zero fine-tune steps (hypernetwork only) still ends at 1', () => {
    expect(personalizeFraction({ stage: 'vae-encode', step: 0, steps: 0 })).toBe(0.5);
    expect(personalizeFraction({ stage: 'done', step: 0, steps: 0 })).toBe(1);
  });

  test('progress text strips nothing a person needs', () => {
    expect(personalizeProgressText({ stage: 'vae-encode', step: 0, steps: 40, etaMs: 61_000 })).toBe('Personalizing: encoding your photo, about 1 min left');
  });
});
