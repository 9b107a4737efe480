import { describe, expect, it } from 'vitest';
import { contactSheet } from '../../../src/eval/contactSheet';
import type { RgbaImage } from '../../../src/face/image';

const solid = (v: number, size = 4): RgbaImage => ({ width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(v) });

describe('contactSheet', () => {
  it('puts the reference top left and each row of images to its right, with white gaps', () => {
    const sheet = contactSheet(solid(10), [{ images: [solid(20), solid(30)] }, { images: [solid(40)] }]);
    expect([sheet.width, sheet.height]).toEqual([3 * 4 + 2 * 2, 2 * 4 + 2]);
    const at = (x: number, y: number) => sheet.data[(y * sheet.width + x) * 4];
    expect(at(0, 0)).toBe(10);
    expect(at(3, 3)).toBe(10);
    expect(at(0, 7)).toBe(255); // under the reference: nothing
    expect(at(4, 0)).toBe(255); // gap
    expect(at(6, 0)).toBe(20);
    expect(at(12, 3)).toBe(30);
    expect(at(6, 5)).toBe(255); // gap between rows
    expect(at(6, 6)).toBe(40);
    expect(at(12, 6)).toBe(255); // the shorter row leaves white
  });

  it('refuses images of another size', () => {
    expect(() => contactSheet(solid(1), [{ images: [solid(2, 5)] }])).toThrow(/image 5×5, expected 4×4/);
  });
});
