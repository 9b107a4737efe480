// Plain RGBA pixel buffers and the few operations the face step needs, in pure TypeScript so
// Node tests, the CLI and the browser worker produce the same pixels.
import type { Orientation } from './exif';

export interface RgbaImage {
  width: number;
  height: number;
  /** row-major RGBA, width*height*4 bytes */
  data: Uint8ClampedArray;
}

/** A rectangle in pixel units; may be fractional (crops move by sub-pixel amounts when zoomed). */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function createRgbaImage(width: number, height: number, data?: Uint8ClampedArray): RgbaImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
  const bytes = width * height * 4;
  if (data && data.length !== bytes) throw new RangeError(`image data has ${data.length} bytes, expected ${bytes}`);
  return { width, height, data: data ?? new Uint8ClampedArray(bytes) };
}

/** Composites onto an opaque background: transparent pixels of a PNG carry arbitrary RGB. */
export function flattenAlpha(img: RgbaImage, background: readonly [number, number, number] = [255, 255, 255]): RgbaImage {
  const src = img.data;
  let opaque = true;
  for (let i = 3; i < src.length; i += 4) if (src[i] !== 255) { opaque = false; break; }
  if (opaque) return img;
  const out = new Uint8ClampedArray(src.length);
  for (let i = 0; i < src.length; i += 4) {
    const a = src[i + 3] / 255;
    for (let c = 0; c < 3; c++) out[i + c] = src[i + c] * a + background[c] * (1 - a);
    out[i + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}

interface Taps {
  /** for output i, its taps are indices[offsets[i] .. offsets[i+1]) with matching weights */
  offsets: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
}

/**
 * 1-D resampling weights from source span [start, start+len) (clamped to [0, limit)) onto
 * `out` samples. A triangle (bilinear) kernel whose width grows with the shrink factor, so
 * shrinking averages every covered source pixel instead of aliasing; enlarging is bilinear.
 */
function resampleTaps(start: number, len: number, limit: number, out: number): Taps {
  const scale = len / out;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const offsets = new Int32Array(out + 1);
  const indices: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < out; i++) {
    const centre = start + (i + 0.5) * scale;
    const lo = Math.floor(centre - support);
    const hi = Math.ceil(centre + support);
    const first = indices.length;
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = 1 - Math.abs(j + 0.5 - centre) / filterScale;
      if (w <= 0) continue;
      const idx = Math.min(limit - 1, Math.max(0, j)); // replicate edges
      // edge replication maps several j to one index: merge them so each index appears once
      let k = indices.length - 1;
      while (k >= first && indices[k] !== idx) k--;
      if (k >= first) weights[k] += w;
      else { indices.push(idx); weights.push(w); }
      sum += w;
    }
    for (let k = first; k < indices.length; k++) weights[k] /= sum;
    offsets[i + 1] = indices.length;
  }
  return { offsets, indices: Int32Array.from(indices), weights: Float32Array.from(weights) };
}

/**
 * Resamples the region `src` of `img` (fractional, may reach past the edges, which repeat)
 * to `width`×`height`. Separable: a horizontal pass over only the rows the vertical pass reads.
 */
export function resampleRegion(img: RgbaImage, src: Rect, width: number, height: number): RgbaImage {
  const out = createRgbaImage(width, height);
  if (!(src.w > 0 && src.h > 0)) throw new RangeError(`source region must have a positive size, got ${src.w}×${src.h}`);
  const tx = resampleTaps(src.x, src.w, img.width, width);
  const ty = resampleTaps(src.y, src.h, img.height, height);
  let rowLo = img.height;
  let rowHi = -1;
  for (const r of ty.indices) { rowLo = Math.min(rowLo, r); rowHi = Math.max(rowHi, r); }
  const rows = rowHi - rowLo + 1;
  const tmp = new Float32Array(rows * width * 4);
  const s = img.data;
  for (let r = 0; r < rows; r++) {
    const srcRow = (rowLo + r) * img.width * 4;
    const dstRow = r * width * 4;
    for (let x = 0; x < width; x++) {
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let k = tx.offsets[x]; k < tx.offsets[x + 1]; k++) {
        const p = srcRow + tx.indices[k] * 4;
        const w = tx.weights[k];
        c0 += s[p] * w; c1 += s[p + 1] * w; c2 += s[p + 2] * w; c3 += s[p + 3] * w;
      }
      const q = dstRow + x * 4;
      tmp[q] = c0; tmp[q + 1] = c1; tmp[q + 2] = c2; tmp[q + 3] = c3;
    }
  }
  const d = out.data;
  const rowStride = width * 4;
  const acc = new Float32Array(rowStride);
  for (let y = 0; y < height; y++) {
    acc.fill(0);
    for (let k = ty.offsets[y]; k < ty.offsets[y + 1]; k++) {
      const t = (ty.indices[k] - rowLo) * rowStride;
      const w = ty.weights[k];
      for (let i = 0; i < rowStride; i++) acc[i] += tmp[t + i] * w;
    }
    d.set(acc, y * rowStride); // Uint8ClampedArray rounds and clamps
  }
  return out;
}

export function resizeImage(img: RgbaImage, width: number, height: number): RgbaImage {
  if (width === img.width && height === img.height) return img;
  return resampleRegion(img, { x: 0, y: 0, w: img.width, h: img.height }, width, height);
}

/** Size with the longest side at most `maxSide`, aspect kept (each side at least 1). */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height };
  const s = maxSide / longest;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** Shrinks so the longest side is at most `maxSide`; smaller images come back unchanged. */
export function shrinkToMaxSide(img: RgbaImage, maxSide: number): RgbaImage {
  const { width, height } = fitWithin(img.width, img.height, maxSide);
  return resizeImage(img, width, height);
}

/** Copies an integer-aligned rectangle that lies inside the image. */
export function cropImage(img: RgbaImage, r: Rect): RgbaImage {
  const { x, y, w, h } = r;
  if (![x, y, w, h].every(Number.isInteger) || x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > img.width || y + h > img.height) {
    throw new RangeError(`crop ${w}×${h} at (${x}, ${y}) is not an integer rectangle inside the ${img.width}×${img.height} image`);
  }
  const out = createRgbaImage(w, h);
  for (let row = 0; row < h; row++) {
    const start = ((y + row) * img.width + x) * 4;
    out.data.set(img.data.subarray(start, start + w * 4), row * w * 4);
  }
  return out;
}

/**
 * Turns stored pixels into display pixels for an EXIF orientation (1–8), the way browsers do
 * with `image-orientation: from-image`.
 */
export function orientImage(img: RgbaImage, orientation: Orientation): RgbaImage {
  if (orientation === 1) return img;
  const W = img.width;
  const H = img.height;
  const swap = orientation >= 5;
  const outW = swap ? H : W;
  const outH = swap ? W : H;
  // source (sx, sy) of display pixel (x, y)
  const source: Record<Exclude<Orientation, 1>, (x: number, y: number) => number> = {
    2: (x, y) => y * W + (W - 1 - x), // mirrored
    3: (x, y) => (H - 1 - y) * W + (W - 1 - x), // rotated 180°
    4: (x, y) => (H - 1 - y) * W + x, // flipped vertically
    5: (x, y) => x * W + y, // transposed
    6: (x, y) => (H - 1 - x) * W + y, // needs 90° clockwise
    7: (x, y) => (H - 1 - x) * W + (W - 1 - y), // transversed
    8: (x, y) => x * W + (W - 1 - y), // needs 90° counter-clockwise
  };
  const at = source[orientation];
  const bytes = img.data.byteOffset % 4 === 0 ? img.data : img.data.slice(); // Uint32 views need alignment
  const src = new Uint32Array(bytes.buffer, bytes.byteOffset, W * H);
  const out = createRgbaImage(outW, outH);
  const dst = new Uint32Array(out.data.buffer);
  for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) dst[y * outW + x] = src[at(x, y)];
  return out;
}
