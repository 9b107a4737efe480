import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import type { Session } from '../../../src/runtime/types';
import { createFaceDetectorSession, type FaceDetection } from '../../../src/face/blazeface';
import { readBlazeFaceModel } from '../../../src/face/blazefaceNode';
import {
  DEFAULT_CROP_POLICY, MIN_CROP_SIZE, centreGuessCrop, cropAroundFace, cropToSquare, fromPixelValues, initialCrop, moveCrop,
  toPixelValues, zoomCrop, type SquareCrop,
} from '../../../src/face/crop';
import { locateFace } from '../../../src/face/faceStep';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { createRgbaImage, resizeImage } from '../../../src/face/image';
import { expectSameImage, fixture, meanAbsDiff, numberedImage, pixel } from './helpers';

const EPS = 1e-9;
function expectSquareInside(c: SquareCrop, image: { width: number; height: number }) {
  expect(c.size).toBeGreaterThan(0);
  expect(c.x).toBeGreaterThanOrEqual(-EPS);
  expect(c.y).toBeGreaterThanOrEqual(-EPS);
  expect(c.x + c.size).toBeLessThanOrEqual(image.width + EPS);
  expect(c.y + c.size).toBeLessThanOrEqual(image.height + EPS);
}

const face = (x: number, y: number, w: number, h: number, score = 0.9): FaceDetection => ({ score, box: { x, y, w, h }, keypoints: [] });

describe('first crop', () => {
  it('around a face: 2.2× the face, lifted for hair, square and inside', () => {
    const image = { width: 1000, height: 800 };
    const c = cropAroundFace(face(450, 300, 100, 120), image);
    expect(c.size).toBeCloseTo(2.2 * 120, 9);
    expect(c.x + c.size / 2).toBeCloseTo(500, 9);
    expect(c.y + c.size / 2).toBeCloseTo(360 - DEFAULT_CROP_POLICY.faceLift * c.size, 9);
    expect(c.y + c.size / 2).toBeLessThan(360); // above the face centre
    // the whole face box is in the crop
    expect(c.x).toBeLessThanOrEqual(450);
    expect(c.y).toBeLessThanOrEqual(300);
    expect(c.x + c.size).toBeGreaterThanOrEqual(550);
    expect(c.y + c.size).toBeGreaterThanOrEqual(420);
  });

  it('a face near the edge slides the square inside; a face too big for it shrinks the square', () => {
    const image = { width: 600, height: 400 };
    const atCorner = cropAroundFace(face(0, 0, 80, 80), image);
    expect(atCorner).toEqual({ x: 0, y: 0, size: 176 });
    const huge = cropAroundFace(face(100, 50, 300, 300), image);
    expect(huge.size).toBe(400);
    expectSquareInside(huge, image);
  });

  it('no face above the threshold: the centre guess and faceFound false', () => {
    const image = { width: 600, height: 400 };
    const guess = centreGuessCrop(image);
    expect(guess.size).toBeCloseTo(320, 9);
    expect(guess.x).toBeCloseTo(140, 9);
    expect(guess.y + guess.size / 2).toBeCloseTo(0.45 * 400, 9);
    expect(initialCrop([], image)).toEqual({ crop: guess, faceFound: false, bestScore: 0 });
    const weak = initialCrop([face(10, 10, 50, 50, 0.6)], image);
    expect(weak).toEqual({ crop: guess, faceFound: false, bestScore: 0.6 });
    const strong = initialCrop([face(10, 10, 50, 50, 0.8)], image);
    expect(strong.faceFound).toBe(true);
    expect(strong.crop).toEqual(cropAroundFace(face(10, 10, 50, 50), image));
  });
});

describe('moving and zooming', () => {
  const image = { width: 640, height: 480 };

  it('moves by the drag and stops at the edges', () => {
    const c = { x: 100, y: 100, size: 200 };
    expect(moveCrop(c, 30, -20, image)).toEqual({ x: 130, y: 80, size: 200 });
    expect(moveCrop(c, -500, 0, image)).toEqual({ x: 0, y: 100, size: 200 });
    expect(moveCrop(c, 0, 1e6, image)).toEqual({ x: 100, y: 280, size: 200 });
  });

  it('zooms about the centre within [MIN_CROP_SIZE, short side]', () => {
    const c = { x: 200, y: 100, size: 200 };
    const zin = zoomCrop(c, 2, image);
    expect(zin).toEqual({ x: 250, y: 150, size: 100 });
    expect(zoomCrop(c, 1000, image).size).toBe(MIN_CROP_SIZE);
    expect(zoomCrop(c, 0.01, image)).toEqual({ x: 60, y: 0, size: 480 });
    expect(() => zoomCrop(c, 0, image)).toThrow(RangeError);
    expect(() => zoomCrop(c, Number.NaN, image)).toThrow(RangeError);
  });

  it('any sequence of moves and zooms keeps the crop square and inside (2,000 random steps)', () => {
    let seed = 7;
    const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
    for (const img of [image, { width: 300, height: 1200 }, { width: 20, height: 15 }]) {
      let c = centreGuessCrop(img);
      for (let i = 0; i < 2000 / 3; i++) {
        c = rand() < 0.5
          ? moveCrop(c, (rand() - 0.5) * img.width * 1.5, (rand() - 0.5) * img.height * 1.5, img)
          : zoomCrop(c, 0.3 + rand() * 3, img);
        expectSquareInside(c, img);
        expect(c.size).toBeLessThanOrEqual(Math.min(img.width, img.height) + EPS);
        expect(c.size).toBeGreaterThanOrEqual(Math.min(MIN_CROP_SIZE, img.width, img.height) - EPS);
      }
    }
  });
});

describe('crop to model inputs', () => {
  it('cropToSquare resamples the square region; an integer crop at its own size is an exact copy', () => {
    const img = numberedImage(50, 40);
    const out = cropToSquare(img, { x: 10, y: 5, size: 20 }, 20);
    expect(pixel(out, 0, 0)).toEqual(pixel(img, 10, 5));
    expect(pixel(out, 19, 19)).toEqual(pixel(img, 29, 24));
    expect(cropToSquare(img, { x: 10, y: 5, size: 20 }, 64)).toMatchObject({ width: 64, height: 64 });
    expect(() => cropToSquare(img, { x: 35, y: 5, size: 20 }, 64)).toThrow(RangeError);
    expect(() => cropToSquare(img, { x: 0, y: 0, size: 20 }, 0)).toThrow(RangeError);
  });

  it('toPixelValues lays out NCHW with the requested normalization, and fromPixelValues inverts it', () => {
    const img = createRgbaImage(2, 2);
    img.data.set([0, 128, 255, 255, 255, 0, 0, 255, 10, 20, 30, 255, 40, 50, 60, 255]);
    const pm = toPixelValues(img, '[-1,1]');
    expect(pm.length).toBe(12);
    expect(Array.from(pm.subarray(0, 4))).toEqual([-1, 1, 10 / 127.5 - 1, 40 / 127.5 - 1].map(Math.fround));
    expect(pm[4]).toBeCloseTo(128 / 127.5 - 1, 6); // G plane starts at 4
    expect(pm[8]).toBeCloseTo(1, 6); // B plane starts at 8
    const clip = { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] } as const;
    const v = toPixelValues(img, clip);
    expect(v[5]).toBeCloseTo((0 - clip.mean[1]) / clip.std[1], 5);
    expect(Array.from(toPixelValues(img, '[0,1]').subarray(0, 2))).toEqual([0, 1]);
    for (const norm of ['[-1,1]', '[0,1]', clip] as const) expectSameImage(fromPixelValues(toPixelValues(img, norm), 2, norm), img);
    expect(() => toPixelValues(img, { mean: [0, 0, 0], std: [1, 0, 1] })).toThrow(RangeError);
  });
});

describe('the face step on the test photos', () => {
  let detector: Session;
  beforeAll(async () => {
    detector = await createFaceDetectorSession(createNodeRuntime(), await readBlazeFaceModel());
  });
  afterAll(async () => {
    await detector?.release();
  });

  it('the 1536×2048 portrait: face found, the crop holds the face, and its 64×64 image matches the same crop of astronaut.png', async () => {
    const { image } = decodeImageBytes(fixture('astronaut_portrait_1536x2048.jpg'));
    const located = await locateFace(detector, image);
    expect(located.faceFound).toBe(true);
    expect(located.bestScore).toBeGreaterThan(0.75);
    const c = located.crop;
    expectSquareInside(c, image);
    const f = located.face!.box;
    expect(c.x).toBeLessThan(f.x);
    expect(c.y).toBeLessThan(f.y);
    expect(c.x + c.size).toBeGreaterThan(f.x + f.w);
    expect(c.y + c.size).toBeGreaterThan(f.y + f.h);
    // in the portrait (768×1024 after shrinking) the astronaut is ×1.5 and 128 px down
    const astronaut = decodeImageBytes(fixture('astronaut.png')).image;
    const same = { x: c.x / 1.5, y: (c.y - 128) / 1.5, size: c.size / 1.5 };
    const a = cropToSquare(image, c, 64);
    const b = cropToSquare(astronaut, same, 64);
    expect(meanAbsDiff(a, b)).toBeLessThan(4);
    const pixels = toPixelValues(a, '[-1,1]');
    expect(pixels.length).toBe(3 * 64 * 64);
    expect(Math.min(...pixels)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...pixels)).toBeLessThanOrEqual(1);
  });

  it('coffee.png and chelsea.png: faceFound false and the centre guess', async () => {
    for (const name of ['coffee.png', 'chelsea.png']) {
      const { image } = decodeImageBytes(fixture(name));
      const located = await locateFace(detector, image);
      expect(located.faceFound, name).toBe(false);
      expect(located.face).toBeUndefined();
      expect(located.bestScore).toBeLessThan(0.75);
      expect(located.crop).toEqual(centreGuessCrop(image));
    }
  });

  it('transparent pixels are flattened onto white before detection and cropping', async () => {
    const astronaut = resizeImage(decodeImageBytes(fixture('astronaut.png')).image, 256, 256);
    const withAlpha = createRgbaImage(256, 256, astronaut.data.slice());
    for (let i = 3; i < 256 * 40 * 4; i += 4) withAlpha.data[i] = 0; // top 40 rows transparent
    const located = await locateFace(detector, withAlpha);
    expect(located.faceFound).toBe(true);
    expect(pixel(located.image, 5, 5)).toEqual([255, 255, 255, 255]);
    expect(pixel(located.image, 5, 100)).toEqual(pixel(astronaut, 5, 100));
  });
});
