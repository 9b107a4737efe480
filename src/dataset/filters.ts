// Image filters for the styles, on float planes (size × size, 1 or 3 channels, values 0…1).
// Arithmetic only, so results are identical in every engine.
import { SeededRandom } from '../diffusion/random';
import type { Rgb } from './identity';

export function luminance(rgb: Float32Array): Float32Array {
  const n = rgb.length / 3;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
  return out;
}

/** One separable box-blur pass of radius r over `channels` interleaved channels, edges clamped. */
export function boxBlur(src: Float32Array, size: number, channels: number, r: number): Float32Array {
  if (r <= 0) return src.slice();
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  const norm = 1 / (2 * r + 1);
  const idx = (x: number, y: number) => (y * size + (x < 0 ? 0 : x >= size ? size - 1 : x)) * channels;
  for (let y = 0; y < size; y++) {
    for (let c = 0; c < channels; c++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += src[idx(k, y) + c];
      for (let x = 0; x < size; x++) {
        tmp[(y * size + x) * channels + c] = acc * norm;
        acc += src[idx(x + r + 1, y) + c] - src[idx(x - r, y) + c];
      }
    }
  }
  const idy = (x: number, y: number) => ((y < 0 ? 0 : y >= size ? size - 1 : y) * size + x) * channels;
  for (let x = 0; x < size; x++) {
    for (let c = 0; c < channels; c++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += tmp[idy(x, k) + c];
      for (let y = 0; y < size; y++) {
        out[(y * size + x) * channels + c] = acc * norm;
        acc += tmp[idy(x, y + r + 1) + c] - tmp[idy(x, y - r) + c];
      }
    }
  }
  return out;
}

/** Three box passes ≈ a Gaussian of σ ≈ r. */
export function softBlur(src: Float32Array, size: number, channels: number, r: number): Float32Array {
  let out = src;
  for (let i = 0; i < 3; i++) out = boxBlur(out, size, channels, r);
  return out;
}

/** Sobel gradient magnitude of a single-channel plane, scaled so a 0→1 step reads about 1. */
export function sobel(src: Float32Array, size: number): Float32Array {
  const out = new Float32Array(size * size);
  const at = (x: number, y: number) => src[(y < 0 ? 0 : y >= size ? size - 1 : y) * size + (x < 0 ? 0 : x >= size ? size - 1 : x)];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      out[y * size + x] = Math.sqrt(gx * gx + gy * gy) / 4;
    }
  }
  return out;
}

/** Largest per-channel Sobel magnitude of an RGB plane: catches edges between colours of equal brightness. */
export function colorEdges(rgb: Float32Array, size: number): Float32Array {
  const out = new Float32Array(size * size);
  const ch = new Float32Array(size * size);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < ch.length; i++) ch[i] = rgb[3 * i + c];
    const e = sobel(ch, size);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i], e[i]);
  }
  return out;
}

/**
 * Kuwahara filter: each pixel takes the mean of whichever of its four (r+1)² quadrants has the
 * least luminance variance, which flattens regions into paint-like patches but keeps edges.
 */
export function kuwahara(rgb: Float32Array, size: number, r: number): Float32Array {
  const w = size + 1;
  // summed-area tables in float64: integer-exact positions, so sums are reproducible
  const sat = new Float64Array(w * w * 5);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const l = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
      const v = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], l, l * l];
      const o = ((y + 1) * w + (x + 1)) * 5;
      const up = (y * w + (x + 1)) * 5;
      const left = ((y + 1) * w + x) * 5;
      const diag = (y * w + x) * 5;
      for (let k = 0; k < 5; k++) sat[o + k] = v[k] + sat[up + k] + sat[left + k] - sat[diag + k];
    }
  }
  const sum = (x0: number, y0: number, x1: number, y1: number, k: number) =>
    sat[(y1 * w + x1) * 5 + k] - sat[(y0 * w + x1) * 5 + k] - sat[(y1 * w + x0) * 5 + k] + sat[(y0 * w + x0) * 5 + k];
  const out = new Float32Array(rgb.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let best = Infinity;
      let bx0 = 0, by0 = 0, bx1 = 0, by1 = 0;
      for (let q = 0; q < 4; q++) {
        const x0 = Math.max(0, q & 1 ? x : x - r), x1 = Math.min(size, (q & 1 ? x + r : x) + 1);
        const y0 = Math.max(0, q & 2 ? y : y - r), y1 = Math.min(size, (q & 2 ? y + r : y) + 1);
        const n = (x1 - x0) * (y1 - y0);
        const m = sum(x0, y0, x1, y1, 3) / n;
        const variance = sum(x0, y0, x1, y1, 4) / n - m * m;
        if (variance < best) {
          best = variance;
          bx0 = x0; by0 = y0; bx1 = x1; by1 = y1;
        }
      }
      const n = (bx1 - bx0) * (by1 - by0);
      const i = 3 * (y * size + x);
      for (let c = 0; c < 3; c++) out[i + c] = sum(bx0, by0, bx1, by1, c) / n;
    }
  }
  return out;
}

/** Smooth value noise in [0, 1) on a cells × cellsY lattice over the image (cellsY ≠ cells stretches it). */
export function valueNoise(size: number, cells: number, rng: SeededRandom, cellsY = cells): Float32Array {
  const g = cells + 1;
  const lattice = new Float64Array(g * (cellsY + 1));
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.random();
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = ((y + 0.5) / size) * cellsY;
    const iy = Math.min(cellsY - 1, Math.floor(fy));
    let ty = fy - iy;
    ty = ty * ty * (3 - 2 * ty);
    for (let x = 0; x < size; x++) {
      const fx = ((x + 0.5) / size) * cells;
      const ix = Math.min(cells - 1, Math.floor(fx));
      let tx = fx - ix;
      tx = tx * tx * (3 - 2 * tx);
      const a = lattice[iy * g + ix], b = lattice[iy * g + ix + 1];
      const c = lattice[(iy + 1) * g + ix], d = lattice[(iy + 1) * g + ix + 1];
      out[y * size + x] = a + (b - a) * tx + (c - a) * ty + (a - b - c + d) * tx * ty;
    }
  }
  return out;
}

/** Scales colour saturation about each pixel's luminance. */
export function saturate(rgb: Float32Array, k: number): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const l = 0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2];
    for (let c = 0; c < 3; c++) out[i + c] = l + (rgb[i + c] - l) * k;
  }
  return out;
}

/** Luminance below which a fraction q of the weighted samples lie (256-bin histogram). */
export function weightedQuantiles(values: Float32Array, weights: Float32Array, qs: readonly number[]): number[] {
  const bins = new Float64Array(256);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const b = v <= 0 ? 0 : v >= 1 ? 255 : Math.floor(v * 256);
    bins[b] += weights[i];
    total += weights[i];
  }
  return qs.map((q) => {
    let acc = 0;
    for (let b = 0; b < 256; b++) {
      acc += bins[b];
      if (acc >= q * total) return (b + 1) / 256;
    }
    return 1;
  });
}

/** Index of the nearest palette colour (squared RGB distance). */
export function nearestColor(palette: readonly Rgb[], r: number, g: number, b: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let k = 0; k < palette.length; k++) {
    const p = palette[k];
    const d = (p[0] - r) * (p[0] - r) + (p[1] - g) * (p[1] - g) + (p[2] - b) * (p[2] - b);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}
