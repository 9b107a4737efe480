import { describe, it, expect } from 'vitest';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { ImageDecodeError, NOT_AN_IMAGE_MESSAGE, type ImageErrorCode } from '../../../src/face/errors';
import { cropImage, resizeImage } from '../../../src/face/image';
import { inspectImage, sniffFormat } from '../../../src/face/imageInfo';
import { findJpegSegment, fixture, handMadePng, tiffWithOrientation, meanAbsDiff, pixel } from './helpers';

function decodeError(bytes: Uint8Array): ImageDecodeError {
  try {
    decodeImageBytes(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    return e as ImageDecodeError;
  }
  throw new Error('expected the decode to fail');
}

const expectCode = (bytes: Uint8Array, code: ImageErrorCode) => expect(decodeError(bytes).code).toBe(code);

describe('decoding the test photos in Node', () => {
  const png = decodeImageBytes(fixture('astronaut.png'));

  it('decodes PNG, JPEG and WebP of the same photo to nearly the same pixels', () => {
    expect(png.info).toEqual({ format: 'png', width: 512, height: 512, orientation: 1 });
    const jpg = decodeImageBytes(fixture('astronaut.jpg'));
    const webp = decodeImageBytes(fixture('astronaut.webp'));
    expect(jpg.info.format).toBe('jpeg');
    expect(webp.info).toEqual({ format: 'webp', width: 512, height: 512, orientation: 1 });
    expect(meanAbsDiff(jpg.image, png.image)).toBeLessThan(4);
    expect(meanAbsDiff(webp.image, png.image)).toBeLessThan(5);
    expect(pixel(png.image, 0, 0)[3]).toBe(255);
  });

  it('shrinks the 1536×2048 portrait to 768×1024 before anything else, keeping its content', () => {
    const t0 = performance.now();
    const { image, info } = decodeImageBytes(fixture('astronaut_portrait_1536x2048.jpg'));
    const ms = performance.now() - t0;
    expect(info).toMatchObject({ width: 1536, height: 2048 });
    expect(image).toMatchObject({ width: 768, height: 1024 });
    // the astronaut was upscaled ×3 and put 256 px down: here ×1.5 and 128 px down, over dark padding
    expect(pixel(image, 400, 40).slice(0, 3).every((v, c) => Math.abs(v - [39, 40, 48][c]) <= 2)).toBe(true);
    expect(pixel(image, 400, 1000).slice(0, 3).every((v, c) => Math.abs(v - [39, 40, 48][c]) <= 2)).toBe(true);
    const astronaut = cropImage(image, { x: 0, y: 128, w: 768, h: 768 });
    expect(meanAbsDiff(astronaut, resizeImage(png.image, 768, 768))).toBeLessThan(6);
    expect(ms).toBeLessThan(20_000); // 0.4–1.3 s here (load varies); a quadratic path would take minutes
  });

  it('PNG variants phones and editors write: 16-bit RGB, grey + alpha, palette, and an eXIf rotation', () => {
    const rgb16 = handMadePng(2, 1, 2, 16, [new Uint8Array([0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x12, 0x34, 0xab, 0xcd, 0x01, 0x00])]);
    const a = decodeImageBytes(rgb16).image;
    const expected = [0xffff, 0x8000, 0, 0x1234, 0xabcd, 0x0100].map((v) => (v * 255) / 65535);
    [...pixel(a, 0, 0).slice(0, 3), ...pixel(a, 1, 0).slice(0, 3)].forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(1));
    expect(pixel(a, 1, 0)[3]).toBe(255);
    const greyAlpha = decodeImageBytes(handMadePng(2, 1, 4, 8, [new Uint8Array([10, 255, 200, 0])])).image;
    expect([pixel(greyAlpha, 0, 0), pixel(greyAlpha, 1, 0)]).toEqual([[10, 10, 10, 255], [200, 200, 200, 0]]);
    const palette = handMadePng(3, 1, 3, 8, [new Uint8Array([2, 0, 1])], [{ type: 'PLTE', data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255]) }]);
    const p = decodeImageBytes(palette).image;
    expect([pixel(p, 0, 0), pixel(p, 1, 0), pixel(p, 2, 0)]).toEqual([[0, 0, 255, 255], [255, 0, 0, 255], [0, 255, 0, 255]]);
    // 3×1 stored with orientation 6 shows as 1×3, the first stored pixel on top
    const rotated = handMadePng(3, 1, 2, 8, [new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3])], [{ type: 'eXIf', data: tiffWithOrientation(6, false) }]);
    const r = decodeImageBytes(rotated);
    expect(r.info.orientation).toBe(6);
    expect(r.image).toMatchObject({ width: 1, height: 3 });
    expect([0, 1, 2].map((y) => pixel(r.image, 0, y)[0])).toEqual([1, 2, 3]);
  });

  it('honours maxSide', () => {
    expect(decodeImageBytes(fixture('coffee.png'), { maxSide: 300 }).image).toMatchObject({ width: 300, height: 200 });
    expect(decodeImageBytes(fixture('chelsea.png'), { maxSide: 2000 }).image).toMatchObject({ width: 451, height: 300 });
  });
});

describe('bad files give typed errors', () => {
  const jpg = fixture('astronaut.jpg');
  const png = fixture('astronaut.png');
  const webp = fixture('astronaut.webp');

  it('a text file renamed .jpg is not an image', () => {
    const e = decodeError(new TextEncoder().encode('Dear diary, today I renamed this file to selfie.jpg\n'));
    expect(e.code).toBe('not-an-image');
    expect(e.message).toBe(NOT_AN_IMAGE_MESSAGE);
    expect(e.message).toBe('this file is not a JPEG, PNG or WebP image');
    expectCode(new Uint8Array([0xff, 0xd8]), 'not-an-image'); // too short to be a JPEG
    expectCode(new TextEncoder().encode('RIFF\x10\0\0\0WAVEfmt '), 'not-an-image');
  });

  it('an empty file', () => {
    expectCode(new Uint8Array(0), 'empty-file');
  });

  it('other image formats are named', () => {
    const gif = decodeError(new TextEncoder().encode('GIF89a\x01\0\x01\0\0\0\0;'));
    expect(gif.code).toBe('unsupported-format');
    expect(gif.message).toMatch(/GIF/);
    const heic = new Uint8Array(32);
    heic.set(new TextEncoder().encode('\0\0\0\x18ftypheic'), 0);
    expect(decodeError(heic).message).toMatch(/HEIC/);
  });

  it('truncated JPEG, PNG and WebP files at many cut points', () => {
    for (const [bytes, name] of [[jpg, 'JPEG'], [png, 'PNG'], [webp, 'WebP']] as const) {
      for (const keep of [16, 40, 200, 1000, Math.floor(bytes.length / 2), bytes.length - 40]) {
        const e = decodeError(bytes.subarray(0, keep));
        expect(e.code, `${name} cut to ${keep} bytes`).toBe('truncated');
        expect(e.message).toMatch(name);
      }
    }
  });

  it('zero-size images', () => {
    const sof = findJpegSegment(jpg, 0xc0);
    const noHeight = jpg.slice();
    noHeight[sof + 5] = 0;
    noHeight[sof + 6] = 0;
    expectCode(noHeight, 'zero-size');
    const noWidth = png.slice();
    noWidth.set([0, 0, 0, 0], 16); // IHDR width
    const e = decodeError(noWidth);
    expect(e.code).toBe('zero-size');
    expect(e.message).toMatch(/0×512/);
  });

  it('images too large to decode are refused from the header alone', () => {
    const sof = findJpegSegment(jpg, 0xc0);
    const huge = jpg.slice();
    huge.set([0xea, 0x60, 0xea, 0x60], sof + 5); // 60000×60000
    const e = decodeError(huge);
    expect(e.code).toBe('too-large');
    expect(e.message).toMatch(/60000×60000/);
  });

  it('damaged data is reported as corrupt', () => {
    const damaged = png.slice();
    const idat = Buffer.from(png).indexOf('IDAT');
    for (let i = idat + 100; i < idat + 140; i++) damaged[i] ^= 0x5a;
    expectCode(damaged, 'corrupt');
    expectCode(new Uint8Array([0xff, 0xd8, 0xff, 0xd9, 0, 0]), 'corrupt'); // ends before any image data
  });

  it('random damage to a small JPEG, PNG and WebP never escapes as another error or hangs', () => {
    const src = cropImage(decodeImageBytes(png).image, { x: 180, y: 60, w: 48, h: 48 });
    const smallJpeg = new Uint8Array(jpeg.encode({ width: 48, height: 48, data: Buffer.from(src.data) }, 90).data);
    const p = new PNG({ width: 48, height: 48 });
    p.data = Buffer.from(src.data);
    const smallPng = new Uint8Array(PNG.sync.write(p));
    expect(decodeImageBytes(smallJpeg).image).toMatchObject({ width: 48, height: 48 });
    expect(decodeImageBytes(smallPng).image).toMatchObject({ width: 48, height: 48 });
    let seed = 12345;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    const outcomes = new Map<string, number>();
    const t0 = performance.now();
    for (let trial = 0; trial < 600; trial++) {
      const base = [smallJpeg, smallPng, webp][trial % 3];
      let bytes = base.slice();
      if (trial % 4 === 0) bytes = bytes.subarray(0, rand(bytes.length));
      const flips = 1 + rand(8);
      for (let f = 0; f < flips && bytes.length > 0; f++) bytes[rand(bytes.length)] = rand(256);
      let outcome = 'decoded';
      try {
        const { image } = decodeImageBytes(bytes);
        expect(image.data.length).toBe(image.width * image.height * 4);
      } catch (e) {
        expect(e, `trial ${trial}`).toBeInstanceOf(ImageDecodeError);
        outcome = (e as ImageDecodeError).code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(outcomes.get('truncated')).toBeGreaterThan(0);
    expect(outcomes.get('corrupt')).toBeGreaterThan(0);
  });
});

describe('inspectImage', () => {
  it('sniffs formats by content, not by name', () => {
    expect(sniffFormat(fixture('astronaut.jpg'))).toBe('jpeg');
    expect(sniffFormat(fixture('coffee.png'))).toBe('png');
    expect(sniffFormat(fixture('astronaut.webp'))).toBe('webp');
    expect(inspectImage(fixture('chelsea.png'))).toEqual({ format: 'png', width: 451, height: 300, orientation: 1 });
  });
});
