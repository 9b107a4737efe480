import { createHash } from 'node:crypto';
import type { RgbaImage } from '../../../src/face/image';

export const sha256 = (bytes: Uint8Array | Uint8ClampedArray) => createHash('sha256').update(bytes).digest('hex');

/** Mean absolute RGB difference, optionally over the central face region only. */
export function meanAbsDiff(a: RgbaImage, b: RgbaImage, crop?: { x0: number; y0: number; x1: number; y1: number }): number {
  const { x0, y0, x1, y1 } = crop ?? { x0: 0, y0: 0, x1: a.width, y1: a.height };
  let s = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      for (let c = 0; c < 3; c++) s += Math.abs(a.data[(y * a.width + x) * 4 + c] - b.data[(y * b.width + x) * 4 + c]);
      n += 3;
    }
  }
  return s / n;
}

export function meanLuminance(img: RgbaImage): number {
  let s = 0;
  for (let i = 0; i < img.data.length; i += 4) s += 0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2];
  return s / (img.data.length / 4) / 255;
}

/** Mean HSV saturation (max − min) / max. */
export function meanSaturation(img: RgbaImage): number {
  let s = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const mx = Math.max(img.data[i], img.data[i + 1], img.data[i + 2]);
    const mn = Math.min(img.data[i], img.data[i + 1], img.data[i + 2]);
    s += mx > 0 ? (mx - mn) / mx : 0;
  }
  return s / (img.data.length / 4);
}

export function distinctColors(img: RgbaImage): number {
  const set = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4) set.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
  return set.size;
}

export function isGreyscale(img: RgbaImage): boolean {
  for (let i = 0; i < img.data.length; i += 4) if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) return false;
  return true;
}
