// The pack's `crop` field: validated in the manifest, and where the crop square starts for it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cropAdvice, startingCrop } from '../../../src/app/packCropStart';
import { packCrop, validateManifest, type PackManifest } from '../../../src/packs/manifest';

const tinyManifest = JSON.parse(readFileSync(join(__dirname, '../../../public/models/tiny/manifest.json'), 'utf8')) as PackManifest;

describe('manifest crop', () => {
  test('the embedded tiny pack asks for the whole portrait', () => {
    expect(packCrop(validateManifest(tinyManifest))).toBe('portrait');
  });

  test('a pack that does not say gets the face close-up', () => {
    const { crop: _crop, ...rest } = tinyManifest;
    expect(packCrop(validateManifest(rest))).toBe('face');
    expect(packCrop(validateManifest({ ...tinyManifest, crop: 'face' }))).toBe('face');
  });

  test('any other value is refused, naming the field and the allowed values', () => {
    for (const bad of ['head', '', 1, null, ['portrait']]) {
      expect(() => validateManifest({ ...tinyManifest, crop: bad }, 'x/manifest.json')).toThrow(
        `x/manifest.json: "crop" is ${JSON.stringify(bad)}: use "face" or "portrait" (or leave it out for "face")`,
      );
    }
  });
});

describe('startingCrop', () => {
  const faceCrop = { x: 300, y: 200, size: 250 };

  test('face keeps the crop around the face', () => {
    expect(startingCrop('face', faceCrop, { width: 768, height: 1024 })).toEqual(faceCrop);
  });

  test('portrait on a square portrait is the whole picture', () => {
    expect(startingCrop('portrait', { x: 14, y: 10, size: 36 }, { width: 64, height: 64 })).toEqual({ x: 0, y: 0, size: 64 });
  });

  test('portrait on a tall photo is the short side, centred on the face and kept inside', () => {
    expect(startingCrop('portrait', faceCrop, { width: 768, height: 1024 })).toEqual({ x: 0, y: 0, size: 768 });
    expect(startingCrop('portrait', { x: 300, y: 700, size: 250 }, { width: 768, height: 1024 })).toEqual({ x: 0, y: 1024 - 768, size: 768 });
  });

  test('portrait on a wide photo centres the square on the face', () => {
    const crop = startingCrop('portrait', { x: 900, y: 100, size: 200 }, { width: 1600, height: 900 });
    expect(crop).toEqual({ x: 1000 - 450, y: 0, size: 900 });
  });

  test('the advice matches where the square starts', () => {
    expect(cropAdvice('portrait')).toMatch(/whole portraits/);
    expect(cropAdvice('face')).toMatch(/whole face and a little hair/);
  });
});
