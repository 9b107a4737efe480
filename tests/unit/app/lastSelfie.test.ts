import { describe, expect, test } from 'vitest';
import { readStoredSelfie } from '../../../src/app/storage/lastSelfie';
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
