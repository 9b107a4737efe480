import { describe, expect, test } from 'vitest';
import { readStartedRun, readStoredSelfie } from '../../../src/app/storage/lastSelfie';
import type { SelfieState } from '../../../src/app/store';

const selfie = (): SelfieState => ({
  width: 2,
  height: 1,
  rgba: new Uint8ClampedArray(8).fill(200),
  crop: { x: 0, y: 0, size: 1 },
  current: { x: 1, y: 0, size: 1 },
  faceFound: true,
  faceScore: 0.9,
  fileName: 'selfie-3.png',
  confirmed: true,
});

describe('the kept selfie', () => {
  test('a whole record comes back as it was', () => {
    expect(readStoredSelfie(selfie())).toEqual(selfie());
  });

  test('a damaged record is refused (the upload box then starts empty)', () => {
    expect(readStoredSelfie({ ...selfie(), rgba: new Uint8ClampedArray(4) })).toBeUndefined();
    expect(readStoredSelfie({ ...selfie(), rgba: new Uint8Array(8) })).toBeUndefined();
    expect(readStoredSelfie({ ...selfie(), current: { x: 1, y: 0 } })).toBeUndefined();
    expect(readStoredSelfie({ ...selfie(), confirmed: 'yes' })).toBeUndefined();
    expect(readStoredSelfie({ ...selfie(), fileName: undefined })).toBeUndefined();
    expect(readStoredSelfie(undefined)).toBeUndefined();
  });
});

describe('the settings of a started personalize', () => {
  const run = { packId: 'tiny', fineTune: { steps: '400', learningRate: '0.0002', rank: '8', seed: '3', relaxation: 'aux-subspace' as const } };

  test('come back as they were typed, and nothing else with them', () => {
    expect(readStartedRun(structuredClone(run))).toEqual(run);
    expect(readStartedRun({ ...run, fineTune: { ...run.fineTune, extra: 'x' } })).toEqual(run);
  });

  test('a damaged record gives nothing back (the form keeps its defaults)', () => {
    expect(readStartedRun({ ...run, packId: undefined })).toBeUndefined();
    expect(readStartedRun({ ...run, fineTune: { ...run.fineTune, steps: 400 } })).toBeUndefined();
    expect(readStartedRun({ ...run, fineTune: { ...run.fineTune, relaxation: 'sideways' } })).toBeUndefined();
    expect(readStartedRun({ packId: 'tiny', fineTune: null })).toBeUndefined();
    expect(readStartedRun('run')).toBeUndefined();
  });
});
