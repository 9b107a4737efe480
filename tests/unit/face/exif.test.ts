import { describe, it, expect } from 'vitest';
import { readTiffOrientation, readApp1Orientation, type Orientation } from '../../../src/face/exif';
import { orientImage, resizeImage } from '../../../src/face/image';
import { inspectImage, withoutOrientation } from '../../../src/face/imageInfo';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { exifApp1, expectSameImage, fixture, handMadePng, insertAfterApp0, numberedImage, pixel, pngChunkCrcsValid, tiffWithOrientation, webpWithExif } from './helpers';

const ALL: Orientation[] = [1, 2, 3, 4, 5, 6, 7, 8];
/** the orientation that undoes each one (the two quarter turns undo each other, the rest themselves) */
const UNDO: Record<Orientation, Orientation> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6 };

describe('EXIF orientation reader', () => {
  it('reads every orientation from big- and little-endian TIFF', () => {
    for (const o of ALL) {
      expect(readTiffOrientation(tiffWithOrientation(o, true))).toBe(o);
      expect(readTiffOrientation(tiffWithOrientation(o, false))).toBe(o);
    }
  });

  it('treats malformed or absent data as orientation 1', () => {
    expect(readTiffOrientation(new Uint8Array(0))).toBe(1);
    expect(readTiffOrientation(tiffWithOrientation(9, true))).toBe(1);
    expect(readTiffOrientation(tiffWithOrientation(0, false))).toBe(1);
    const badMagic = tiffWithOrientation(6, true);
    badMagic[2] = 43;
    expect(readTiffOrientation(badMagic)).toBe(1);
    const ifdPastEnd = tiffWithOrientation(6, true);
    new DataView(ifdPastEnd.buffer).setUint32(4, 10_000, true);
    expect(readTiffOrientation(ifdPastEnd)).toBe(1);
    const cutEntries = tiffWithOrientation(6, true).subarray(0, 30); // second entry cut in half
    expect(readTiffOrientation(cutEntries)).toBe(1);
    expect(readApp1Orientation(new TextEncoder().encode('http://ns.adobe.com/xap/1.0/\0<x/>'))).toBeUndefined();
  });

  it('finds the APP1 segment inserted into a real JPEG', () => {
    const jpg = fixture('astronaut.jpg');
    expect(inspectImage(jpg).orientation).toBe(1);
    for (const o of ALL) {
      const info = inspectImage(insertAfterApp0(jpg, exifApp1(o, o % 2 === 0)));
      expect(info).toMatchObject({ format: 'jpeg', width: 512, height: 512, orientation: o });
    }
  });
});

describe('orientImage', () => {
  // display pixel (x, y) of a 3×2 stored image, written out by hand for each orientation
  const W = 3, H = 2;
  const stored = numberedImage(W, H); // pixel index i = y*3 + x in the red channel
  const red = (img: ReturnType<typeof orientImage>) => {
    const rows: number[][] = [];
    for (let y = 0; y < img.height; y++) rows.push(Array.from({ length: img.width }, (_, x) => pixel(img, x, y)[0]));
    return rows;
  };

  it('matches the EXIF definitions on a 3×2 image', () => {
    expect(red(orientImage(stored, 1))).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(red(orientImage(stored, 2))).toEqual([[2, 1, 0], [5, 4, 3]]);
    expect(red(orientImage(stored, 3))).toEqual([[5, 4, 3], [2, 1, 0]]);
    expect(red(orientImage(stored, 4))).toEqual([[3, 4, 5], [0, 1, 2]]);
    expect(red(orientImage(stored, 5))).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(red(orientImage(stored, 6))).toEqual([[3, 0], [4, 1], [5, 2]]); // rotated 90° clockwise
    expect(red(orientImage(stored, 7))).toEqual([[5, 2], [4, 1], [3, 0]]);
    expect(red(orientImage(stored, 8))).toEqual([[2, 5], [1, 4], [0, 3]]); // rotated 90° counter-clockwise
  });

  it('6 then 8 and 3 then 3 give back the original', () => {
    const img = numberedImage(17, 5);
    expectSameImage(orientImage(orientImage(img, 6), 8), img);
    expectSameImage(orientImage(orientImage(img, 3), 3), img);
    expectSameImage(orientImage(orientImage(img, 5), 5), img);
  });
});

describe('decoding a JPEG with an EXIF orientation', () => {
  const jpg = fixture('astronaut.jpg');
  const upright = decodeImageBytes(jpg).image;

  it('orientation 6 decodes to the original turned 90° clockwise', () => {
    const { image, info } = decodeImageBytes(insertAfterApp0(jpg, exifApp1(6)));
    expect(info.orientation).toBe(6);
    expectSameImage(image, orientImage(upright, 6));
    // the astronaut's face (upper centre, x≈225 y≈128) is now on the right, half-way down
    const stored = pixel(upright, 225, 128);
    expect(pixel(image, 511 - 128, 225)).toEqual(stored);
  });

  it('orientation 6 on a non-square photo swaps width and height, after shrinking', () => {
    const wide = resizeImage(upright, 512, 256);
    expect(orientImage(wide, 6)).toMatchObject({ width: 256, height: 512 });
    const { image } = decodeImageBytes(insertAfterApp0(fixture('astronaut_portrait_1536x2048.jpg'), exifApp1(6)), { maxSide: 1024 });
    expect(image).toMatchObject({ width: 1024, height: 768 });
  });

  it('every orientation decodes to the matching transform of the upright pixels', () => {
    for (const o of ALL) {
      expectSameImage(decodeImageBytes(insertAfterApp0(jpg, exifApp1(o, true))).image, orientImage(upright, o));
    }
  });
});

describe('decoding a WebP with an EXIF chunk', () => {
  it('orientation 8 decodes to the original turned 90° counter-clockwise', () => {
    const simple = fixture('astronaut.webp');
    const upright = decodeImageBytes(simple).image;
    const withExif = webpWithExif(simple, tiffWithOrientation(8, true), 512, 512);
    expect(inspectImage(withExif)).toMatchObject({ format: 'webp', width: 512, height: 512, orientation: 8 });
    expectSameImage(decodeImageBytes(withExif).image, orientImage(upright, 8));
  });
});

describe('withoutOrientation (what the browser decoder hands the browser)', () => {
  it('rewrites only the orientation value, in JPEG, PNG (CRC kept valid) and WebP', () => {
    const jpg = insertAfterApp0(fixture('astronaut.jpg'), exifApp1(6, true));
    const png = handMadePng(3, 1, 2, 8, [new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3])], [{ type: 'eXIf', data: tiffWithOrientation(7, false) }]);
    const webp = webpWithExif(fixture('astronaut.webp'), tiffWithOrientation(3, false), 512, 512);
    for (const file of [jpg, png, webp]) {
      const info = inspectImage(file);
      expect(info.orientation).not.toBe(1);
      const upright = withoutOrientation(file, info);
      expect(upright.length).toBe(file.length);
      let changed = 0;
      for (let i = 0; i < file.length; i++) if (upright[i] !== file[i]) changed++;
      expect(changed).toBeLessThanOrEqual(info.format === 'png' ? 6 : 2); // the SHORT, and the chunk CRC for PNG
      const again = inspectImage(upright);
      expect(again.orientation).toBe(1);
      if (info.format === 'png') expect(pngChunkCrcsValid(upright)).toBe(true);
      // decoding the copy gives the stored pixels: the original's display pixels turned back
      expectSameImage(decodeImageBytes(upright).image, orientImage(decodeImageBytes(file).image, UNDO[info.orientation]));
    }
    const plain = fixture('astronaut.png');
    expect(withoutOrientation(plain, inspectImage(plain))).toBe(plain);
  });
});
