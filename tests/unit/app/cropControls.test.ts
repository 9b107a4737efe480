import { describe, expect, test } from 'vitest';
import { cropAtLevel, cropPercent, cropSideRange, dragCrop, sameCrop, sideForLevel, wheelZoomFactor, zoomLevel } from '../../../src/app/cropControls';
import { MIN_CROP_SIZE } from '../../../src/face/crop';

const image = { width: 768, height: 1024 };

describe('zoom slider', () => {
  test('level 0 is the whole short side, 100 the closest zoom', () => {
    expect(cropSideRange(image)).toEqual({ min: MIN_CROP_SIZE, max: 768 });
    expect(sideForLevel(0, image)).toBeCloseTo(768);
    expect(sideForLevel(100, image)).toBeCloseTo(MIN_CROP_SIZE);
    expect(zoomLevel(768, image)).toBeCloseTo(0);
    expect(zoomLevel(MIN_CROP_SIZE, image)).toBeCloseTo(100);
  });

  test('level and side are inverse, and each notch zooms by the same factor', () => {
    for (const level of [0, 13, 50, 77, 100]) expect(zoomLevel(sideForLevel(level, image), image)).toBeCloseTo(level, 9);
    const r1 = sideForLevel(10, image) / sideForLevel(20, image);
    const r2 = sideForLevel(60, image) / sideForLevel(70, image);
    expect(r1).toBeCloseTo(r2, 9);
  });

  test('out-of-range levels are clamped; a tiny image has one level', () => {
    expect(sideForLevel(-20, image)).toBeCloseTo(768);
    expect(sideForLevel(500, image)).toBeCloseTo(MIN_CROP_SIZE);
    expect(zoomLevel(10, { width: 20, height: 30 })).toBe(0);
  });

  test('cropAtLevel keeps the centre and stays inside the image', () => {
    const crop = { x: 200, y: 300, size: 300 };
    const zoomed = cropAtLevel(crop, 80, image);
    expect(zoomed.size).toBeCloseTo(sideForLevel(80, image));
    expect(zoomed.x + zoomed.size / 2).toBeCloseTo(350);
    expect(zoomed.y + zoomed.size / 2).toBeCloseTo(450);
    const out = cropAtLevel({ x: 700, y: 0, size: 60 }, 0, image);
    expect(out).toEqual({ x: 0, y: 0, size: 768 });
  });
});

describe('dragging', () => {
  test('screen pixels are scaled to image pixels', () => {
    // shown 384 px wide: 1 screen px = 2 image px
    expect(dragCrop({ x: 100, y: 100, size: 200 }, 10, -5, 384, image)).toEqual({ x: 120, y: 90, size: 200 });
  });

  test('the crop stops at the edges', () => {
    expect(dragCrop({ x: 100, y: 100, size: 200 }, -1000, 5000, 384, image)).toEqual({ x: 0, y: 824, size: 200 });
  });
});

describe('wheel', () => {
  test('scrolling up zooms in, down zooms out, line and page deltas are scaled', () => {
    expect(wheelZoomFactor(-100)).toBeGreaterThan(1);
    expect(wheelZoomFactor(100)).toBeLessThan(1);
    expect(wheelZoomFactor(100) * wheelZoomFactor(-100)).toBeCloseTo(1);
    expect(wheelZoomFactor(3, 1)).toBeCloseTo(wheelZoomFactor(99));
    // a huge flick is capped instead of jumping to the limit
    expect(wheelZoomFactor(-1e6)).toBeCloseTo(wheelZoomFactor(-300));
  });
});

test('cropPercent positions the overlay; sameCrop tolerates sub-pixel drift', () => {
  expect(cropPercent({ x: 192, y: 256, size: 384 }, image)).toEqual({ left: 25, top: 25, width: 50, height: 37.5 });
  expect(sameCrop({ x: 1, y: 1, size: 10 }, { x: 1.3, y: 0.8, size: 10.2 })).toBe(true);
  expect(sameCrop({ x: 1, y: 1, size: 10 }, { x: 2, y: 1, size: 10 })).toBe(false);
});
