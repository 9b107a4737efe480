import { describe, it, expect } from 'vitest';
import { createRgbaImage, cropImage, fitWithin, flattenAlpha, resampleRegion, resizeImage, shrinkToMaxSide } from '../../../src/face/image';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { expectSameImage, fixture, meanAbsDiff, numberedImage, pixel } from './helpers';

const solid = (w: number, h: number, rgba: number[]) => {
  const img = createRgbaImage(w, h);
  for (let i = 0; i < w * h; i++) img.data.set(rgba, i * 4);
  return img;
};

describe('resampling', () => {
  it('same size is the identity', () => {
    const img = numberedImage(13, 7);
    expectSameImage(resampleRegion(img, { x: 0, y: 0, w: 13, h: 7 }, 13, 7), img);
  });

  it('keeps a flat colour flat at any scale, region and edge', () => {
    const img = solid(37, 23, [200, 10, 99, 255]);
    for (const [w, h] of [[5, 3], [37, 23], [80, 61], [1, 1]]) {
      const out = resampleRegion(img, { x: -3.5, y: 2.25, w: 30.5, h: 25 }, w, h);
      for (let i = 0; i < out.data.length; i += 4) expect([...out.data.subarray(i, i + 4)]).toEqual([200, 10, 99, 255]);
    }
  });

  it('shrinking averages every source pixel (a fine checkerboard becomes even grey)', () => {
    const img = createRgbaImage(64, 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) img.data.set((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255], (y * 64 + x) * 4);
    for (const size of [16, 10, 7]) {
      const out = resizeImage(img, size, size);
      // inside the border (edge replication tips the balance there); point sampling would give 0 or 255
      for (let y = 1; y < size - 1; y++) for (let x = 1; x < size - 1; x++) {
        expect(Math.abs(pixel(out, x, y)[0] - 127.5)).toBeLessThanOrEqual(size === 16 ? 0.5 : 12);
      }
    }
  });

  it('halving averages 2×2 blocks exactly', () => {
    const img = createRgbaImage(4, 2);
    img.data.set([0, 0, 0, 255, 100, 0, 0, 255, 40, 0, 0, 255, 40, 0, 0, 255,
      20, 0, 0, 255, 80, 0, 0, 255, 40, 0, 0, 255, 40, 0, 0, 255]);
    const out = resizeImage(img, 2, 1);
    // the triangle kernel at 2× reaches half a pixel into the neighbours: weights 1,3,3,1
    expect(pixel(out, 0, 0)[0]).toBe(Math.round((0 + 20) / 2 * 1 / 8 + (0 + 20) / 2 * 3 / 8 + (100 + 80) / 2 * 3 / 8 + (40 + 40) / 2 * 1 / 8));
    expect(pixel(out, 1, 0)[0]).toBe(Math.round((90 * 1 + 40 * 3 + 40 * 3 + 40 * 1) / 8));
  });

  it('enlarging is bilinear between pixel centres', () => {
    const img = createRgbaImage(2, 1);
    img.data.set([0, 0, 0, 255, 200, 0, 0, 255]);
    const out = resizeImage(img, 8, 1);
    expect(Array.from({ length: 8 }, (_, x) => pixel(out, x, 0)[0])).toEqual([0, 0, 25, 75, 125, 175, 200, 200]);
  });

  it('shrinking a photo keeps its look (2× down then up stays close to the original)', () => {
    const img = decodeImageBytes(fixture('astronaut.png')).image;
    const back = resizeImage(resizeImage(img, 256, 256), 512, 512);
    expect(meanAbsDiff(back, img)).toBeLessThan(8);
  });

  it('fits the longest side and leaves small images alone', () => {
    expect(fitWithin(4032, 3024, 1024)).toEqual({ width: 1024, height: 768 });
    expect(fitWithin(3000, 10, 1024)).toEqual({ width: 1024, height: 3 });
    expect(fitWithin(20000, 1, 1024)).toEqual({ width: 1024, height: 1 });
    const small = numberedImage(30, 20);
    expect(shrinkToMaxSide(small, 1024)).toBe(small);
  });
});

describe('crop and alpha', () => {
  it('crops an integer rectangle and refuses one that leaves the image', () => {
    const img = numberedImage(10, 6);
    const c = cropImage(img, { x: 3, y: 2, w: 4, h: 3 });
    expect(c).toMatchObject({ width: 4, height: 3 });
    expect(pixel(c, 0, 0)).toEqual(pixel(img, 3, 2));
    expect(pixel(c, 3, 2)).toEqual(pixel(img, 6, 4));
    expect(() => cropImage(img, { x: 7, y: 0, w: 4, h: 1 })).toThrow(RangeError);
    expect(() => cropImage(img, { x: 0.5, y: 0, w: 4, h: 1 })).toThrow(RangeError);
  });

  it('flattens transparency onto white and keeps opaque images as they are', () => {
    const img = createRgbaImage(2, 1);
    img.data.set([10, 20, 30, 0, 100, 0, 200, 128]);
    const flat = flattenAlpha(img);
    expect(pixel(flat, 0, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(flat, 1, 0)).toEqual([Math.round(100 * 128 / 255 + 255 * 127 / 255), Math.round(255 * 127 / 255), Math.round(200 * 128 / 255 + 255 * 127 / 255), 255]);
    const opaque = numberedImage(4, 4);
    expect(flattenAlpha(opaque)).toBe(opaque);
  });

  it('refuses impossible sizes', () => {
    expect(() => createRgbaImage(0, 5)).toThrow(RangeError);
    expect(() => createRgbaImage(2, 2, new Uint8ClampedArray(15))).toThrow(RangeError);
  });
});
