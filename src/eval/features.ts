// Hand-designed image features for the evaluation's scorers. The synthetic world is rendered
// at 64×64 with the head near the centre, so fixed grids of colour means and gradient
// orientation histograms already locate hair, skin, eyes and outline; the learned part of each
// scorer is a linear map on top (src/eval/linear.ts).
import type { RgbaImage } from '../face/image';

/** Every scorer works at this size; other sizes are resampled (box filter). */
export const FEATURE_SIZE = 64;

/** RGB planes in [0, 1] at FEATURE_SIZE², from any RGBA image. */
export function rgbPlanes(img: RgbaImage): { r: Float32Array; g: Float32Array; b: Float32Array } {
  const n = FEATURE_SIZE;
  const r = new Float32Array(n * n);
  const g = new Float32Array(n * n);
  const b = new Float32Array(n * n);
  const sx = img.width / n;
  const sy = img.height / n;
  for (let y = 0; y < n; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * sy));
    for (let x = 0; x < n; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * sx));
      let ar = 0, ag = 0, ab = 0, c = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const o = (yy * img.width + xx) * 4;
          ar += img.data[o]; ag += img.data[o + 1]; ab += img.data[o + 2]; c++;
        }
      }
      const k = y * n + x;
      r[k] = ar / (255 * c); g[k] = ag / (255 * c); b[k] = ab / (255 * c);
    }
  }
  return { r, g, b };
}

function luma(p: { r: Float32Array; g: Float32Array; b: Float32Array }): Float32Array {
  return p.r.map((v, i) => 0.299 * v + 0.587 * p.g[i] + 0.114 * p.b[i]);
}

/** Mean of `plane` over a cells×cells grid. */
function gridMeans(plane: Float32Array, cells: number): number[] {
  const n = FEATURE_SIZE;
  const s = n / cells;
  const out = new Array<number>(cells * cells).fill(0);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) out[Math.floor(y / s) * cells + Math.floor(x / s)] += plane[y * n + x];
  return out.map((v) => v / (s * s));
}

/** Histograms of gradient orientation (unsigned, `bins`) weighted by magnitude, per grid cell, each cell L2-normalized. */
function orientationHistograms(l: Float32Array, cells: number, bins: number): number[] {
  const n = FEATURE_SIZE;
  const s = n / cells;
  const out = new Array<number>(cells * cells * bins).fill(0);
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const gx = l[y * n + x + 1] - l[y * n + x - 1];
      const gy = l[(y + 1) * n + x] - l[(y - 1) * n + x];
      const mag = Math.sqrt(gx * gx + gy * gy);
      if (mag === 0) continue;
      let a = Math.atan2(gy, gx);
      if (a < 0) a += Math.PI;
      const bin = Math.min(bins - 1, Math.floor((a / Math.PI) * bins));
      out[(Math.floor(y / s) * cells + Math.floor(x / s)) * bins + bin] += mag;
    }
  }
  for (let c = 0; c < cells * cells; c++) {
    let ss = 1e-6;
    for (let k = 0; k < bins; k++) ss += out[c * bins + k] ** 2;
    const norm = Math.sqrt(ss);
    for (let k = 0; k < bins; k++) out[c * bins + k] /= norm;
  }
  return out;
}

/**
 * Identity features (448): 8×8 mean RGB (hair, skin, eye and outfit colour by place), 8×8
 * chromaticity (colour without brightness, which lighting changes), and 6×6×8 gradient
 * orientation histograms (face outline, hair shape, glasses, features).
 */
export function identityFeatures(img: RgbaImage): Float32Array {
  const p = rgbPlanes(img);
  const sum = p.r.map((v, i) => v + p.g[i] + p.b[i] + 1e-3);
  const chromaR = p.r.map((v, i) => v / sum[i]);
  const chromaG = p.g.map((v, i) => v / sum[i]);
  return Float32Array.from([
    ...gridMeans(p.r, 8), ...gridMeans(p.g, 8), ...gridMeans(p.b, 8),
    ...gridMeans(chromaR, 8), ...gridMeans(chromaG, 8),
    ...orientationHistograms(luma(p), 6, 8),
  ]);
}

/**
 * Style features (51): what distinguishes the renderer's styles — colourfulness, tone, paper
 * whiteness, darkness, palette size, flat blocks, edge density, fine texture, hue mix.
 */
export function styleFeatures(img: RgbaImage): Float32Array {
  const n = FEATURE_SIZE;
  const p = rgbPlanes(img);
  const l = luma(p);
  const N = n * n;
  let satSum = 0, satSq = 0, lSum = 0, lSq = 0, white = 0, black = 0, grey = 0, vivid = 0;
  const hue = new Array<number>(12).fill(0);
  const palette = new Set<number>();
  for (let i = 0; i < N; i++) {
    const r = p.r[i], g = p.g[i], b = p.b[i];
    const mx = Math.max(r, g, b), mn = Math.min(r, g, b);
    const sat = mx > 0 ? (mx - mn) / mx : 0;
    satSum += sat; satSq += sat * sat;
    lSum += l[i]; lSq += l[i] * l[i];
    if (l[i] > 0.9) white++;
    if (l[i] < 0.12) black++;
    if (mx - mn < 0.03) grey++;
    if (sat > 0.6 && mx > 0.5) vivid++;
    if (mx - mn > 1e-3) {
      let h: number;
      if (mx === r) h = ((g - b) / (mx - mn) + 6) % 6;
      else if (mx === g) h = (b - r) / (mx - mn) + 2;
      else h = (r - g) / (mx - mn) + 4;
      hue[Math.min(11, Math.floor(h * 2))] += sat;
    }
    palette.add((Math.round(r * 31) << 10) | (Math.round(g * 31) << 5) | Math.round(b * 31));
  }
  let equalH = 0, equalV = 0, edges = 0, gradSum = 0, fine = 0;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const i = y * n + x;
      if (Math.abs(l[i] - l[i + 1]) < 0.004 && Math.abs(p.r[i] - p.r[i + 1]) < 0.004) equalH++;
      if (Math.abs(l[i] - l[i + n]) < 0.004 && Math.abs(p.r[i] - p.r[i + n]) < 0.004) equalV++;
      const gx = l[i + 1] - l[i - 1], gy = l[i + n] - l[i - n];
      const mag = Math.sqrt(gx * gx + gy * gy);
      gradSum += mag;
      if (mag > 0.15) edges++;
      const blur = (l[i - 1] + l[i + 1] + l[i - n] + l[i + n]) / 4;
      fine += Math.abs(l[i] - blur);
    }
  }
  const inner = (n - 2) * (n - 2);
  const hueTotal = hue.reduce((a, b) => a + b, 0) + 1e-6;
  const satMean = satSum / N, lMean = lSum / N;
  // the centre (the face) separately: styles treat subject and background differently
  const c0 = n / 4, c1 = (3 * n) / 4;
  let cSat = 0, cL = 0, cCount = 0;
  for (let y = c0; y < c1; y++) for (let x = c0; x < c1; x++) {
    const i = y * n + x;
    const mx = Math.max(p.r[i], p.g[i], p.b[i]), mn = Math.min(p.r[i], p.g[i], p.b[i]);
    cSat += mx > 0 ? (mx - mn) / mx : 0; cL += l[i]; cCount++;
  }
  return Float32Array.from([
    satMean, Math.sqrt(Math.max(0, satSq / N - satMean * satMean)),
    lMean, Math.sqrt(Math.max(0, lSq / N - lMean * lMean)),
    white / N, black / N, grey / N, vivid / N,
    Math.log(palette.size) / Math.log(N), palette.size / N,
    equalH / inner, equalV / inner, edges / inner, gradSum / inner, fine / inner,
    ...hue.map((v) => v / hueTotal), hueTotal / N,
    cSat / cCount, cL / cCount,
    ...gridMeans(l, 4),
    // mean colour: neon's dark-with-glow and oil painting's brown ground
    p.r.reduce((a, b) => a + b, 0) / N, p.g.reduce((a, b) => a + b, 0) / N, p.b.reduce((a, b) => a + b, 0) / N,
  ]);
}

/**
 * A generic image descriptor (the counterpart of CLIP-I/DINO embeddings): 16×16 RGB thumbnail
 * (768) and 4×4×8 gradient orientation histograms (128), each part scaled to unit length so
 * neither dominates.
 */
export function imageDescriptor(img: RgbaImage): Float32Array {
  const p = rgbPlanes(img);
  const thumb = [...gridMeans(p.r, 16), ...gridMeans(p.g, 16), ...gridMeans(p.b, 16)];
  const hog = orientationHistograms(luma(p), 4, 8);
  const unit = (v: number[]) => {
    const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0)) || 1;
    return v.map((x) => x / norm);
  };
  return Float32Array.from([...unit(thumb), ...unit(hog)]);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine of vectors of different lengths (${a.length}, ${b.length})`);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return aa === 0 || bb === 0 ? 0 : Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb)));
}
