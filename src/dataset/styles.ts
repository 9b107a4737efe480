// Styles: the same identity and photo seed rendered as a photo, a pencil sketch, pop art …
// Each style is post-processing of the base render (the subject layer and its photo) plus a
// background of its own, so a style changes the look but never the person or the pose.
import type { SeededRandom } from '../diffusion/random';
import { datasetRng, STREAM } from './rng';
import type { RgbaImage } from '../face/image';
import { boxBlur, colorEdges, kuwahara, luminance, nearestColor, saturate, sobel, softBlur, valueNoise, weightedQuantiles } from './filters';
import { mixRgb, type Identity, type Rgb } from './identity';
import {
  composite, DEFAULT_IMAGE_SIZE, hsv, renderBackground, renderPhoto, renderSubject, samplePhotoParams, toRgbaImage,
  type PhotoParams, type SubjectLayer,
} from './photo';
import { latticeHash } from './raster';

export const STYLES = ['photo', 'black-and-white', 'pencil-sketch', 'pop-art', 'pixel-art', 'watercolor', 'neon', 'oil-painting'] as const;
export type Style = (typeof STYLES)[number];

/** How captions name each style: "<prefix> <subject>", e.g. "a pencil sketch of a man". */
export const STYLE_CAPTION_PREFIX: Record<Style, string> = {
  photo: 'a photo of',
  'black-and-white': 'a black and white photo of',
  'pencil-sketch': 'a pencil sketch of',
  'pop-art': 'a pop art portrait of',
  'pixel-art': 'a pixel art portrait of',
  watercolor: 'a watercolor painting of',
  neon: 'a neon portrait of',
  'oil-painting': 'an oil painting of',
};

export function isStyle(s: string): s is Style {
  return (STYLES as readonly string[]).includes(s);
}

/** Independent randomness per (photo, style): textures differ between styles of one photo. */
function styleRng(params: PhotoParams, style: Style): SeededRandom {
  return datasetRng(params.seed, STREAM.style + STYLES.indexOf(style));
}

/** A flat background of one colour, for styles that bring their own. */
function flat(size: number, c: Rgb): Float32Array {
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = c[0];
    out[i + 1] = c[1];
    out[i + 2] = c[2];
  }
  return out;
}

function grey(values: Float32Array, size: number): RgbaImage {
  const rgb = new Float32Array(values.length * 3);
  for (let i = 0; i < values.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = values[i];
  return toRgbaImage(rgb, size);
}

/** Pixel-size-independent radius: `r` at 64 px, scaled with the image. */
const scaled = (size: number, r: number) => Math.max(1, Math.round((r * size) / 64));

function blackAndWhite(subject: SubjectLayer, params: PhotoParams, rng: SeededRandom): RgbaImage {
  const size = subject.size;
  const lum = luminance(composite(subject, renderBackground(params.background, size)));
  const salt = Math.floor(rng.random() * 1e9);
  const out = new Float32Array(lum.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const l = lum[i] * params.exposure;
      const s = l < 0 ? 0 : l > 1 ? 1 : l;
      // half an S-curve for contrast, a vignette, and film grain
      const curved = 0.5 * s + 0.5 * s * s * (3 - 2 * s);
      const u = (2 * (x + 0.5)) / size - 1, v = (2 * (y + 0.5)) / size - 1;
      out[i] = curved * (1 - 0.18 * (u * u + v * v)) + (latticeHash(x, y, salt) - 0.5) * 0.06;
    }
  }
  return grey(out, size);
}

function pencilSketch(subject: SubjectLayer, rng: SeededRandom): RgbaImage {
  const size = subject.size;
  const lum = luminance(composite(subject, flat(size, [1, 1, 1])));
  const soft = boxBlur(lum, size, 1, scaled(size, 0.6));
  const edges = sobel(soft, size);
  const period = Math.max(4, Math.round(size / 14));
  const salt = Math.floor(rng.random() * 1e9);
  const out = new Float32Array(lum.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const dark = 1 - soft[i];
      let v = 0.97 - (latticeHash(x >> 1, y >> 1, salt) - 0.5) * 0.02;
      if (dark > 0.4 && (x + y) % period === 0) v -= 0.15 + (dark - 0.4) * 0.8;
      if (dark > 0.65 && (((x - y) % period) + period) % period === 0) v -= 0.15 + (dark - 0.65) * 0.8;
      v -= edges[i] * 2.4 + dark * 0.12;
      out[i] = v < 0.08 ? 0.08 : v;
    }
  }
  return grey(out, size);
}

const POP_PALETTES: Rgb[][] = [
  [[0.06, 0.04, 0.1], [0.93, 0.1, 0.45], [1, 0.85, 0.1], [0.35, 0.9, 0.95]],
  [[0.05, 0.05, 0.2], [0.1, 0.45, 0.95], [1, 0.45, 0.7], [1, 0.95, 0.3]],
  [[0.1, 0.02, 0.05], [0.95, 0.3, 0.1], [0.3, 0.95, 0.4], [1, 0.95, 0.85]],
  [[0.02, 0.1, 0.1], [0.55, 0.2, 0.85], [1, 0.6, 0.1], [0.6, 1, 0.3]],
];

function popArt(subject: SubjectLayer, rng: SeededRandom): RgbaImage {
  const size = subject.size;
  const palette = POP_PALETTES[Math.floor(rng.random() * POP_PALETTES.length)];
  const bgColor = hsv(rng.random(), 0.85, 1);
  const dotColor = mixRgb(bgColor, [1, 1, 1], 0.55);
  const lum = luminance(composite(subject, flat(size, [0, 0, 0])));
  for (let i = 0; i < lum.length; i++) lum[i] = subject.alpha[i] > 0 ? lum[i] / subject.alpha[i] : 0;
  // tone bands at the figure's own quantiles: every portrait uses all four colours
  const [t1, t2, t3] = weightedQuantiles(lum, subject.alpha, [0.2, 0.45, 0.75]);
  const edges = colorEdges(composite(subject, flat(size, [1, 1, 1])), size);
  const cell = Math.max(3, Math.round(size / 16));
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      // halftone: distance to the nearest cell centre against a tone-dependent radius
      const gx = (x % cell) + 0.5 - cell / 2, gy = (y % cell) + 0.5 - cell / 2;
      const dotR2 = gx * gx + gy * gy;
      const a = subject.alpha[i];
      const l = lum[i];
      const level = l < t1 ? 0 : l < t2 ? 1 : l < t3 ? 2 : 3;
      let c = palette[level];
      if (level === 2 && dotR2 < cell * cell * 0.06) c = palette[1];
      const bg = dotR2 < cell * cell * 0.09 ? dotColor : bgColor;
      const ink = edges[i] > 0.22 ? 1 : edges[i] / 0.22;
      for (let k = 0; k < 3; k++) {
        const v = c[k] * a + bg[k] * (1 - a);
        out[3 * i + k] = v * (1 - ink) + 0.03 * ink;
      }
    }
  }
  return toRgbaImage(out, size);
}

/** Twenty colours, a game-console-like palette with enough skin and hair tones. */
export const PIXEL_PALETTE: readonly Rgb[] = [
  [0.05, 0.05, 0.08], [0.35, 0.2, 0.12], [0.6, 0.36, 0.22], [0.85, 0.6, 0.42], [1, 0.84, 0.68], [1, 1, 0.95],
  [0.55, 0.55, 0.6], [0.85, 0.15, 0.2], [1, 0.55, 0.15], [1, 0.88, 0.25], [0.2, 0.65, 0.25], [0.1, 0.35, 0.3],
  [0.2, 0.4, 0.85], [0.45, 0.8, 0.95], [0.5, 0.25, 0.6], [0.95, 0.5, 0.7],
  [0.2, 0.12, 0.08], [0.88, 0.7, 0.36], [0.78, 0.78, 0.8], [0.7, 0.3, 0.15],
];

function pixelArt(subject: SubjectLayer, params: PhotoParams): RgbaImage {
  const size = subject.size;
  const block = Math.max(2, Math.floor(size / 21));
  const bg = PIXEL_PALETTE[10 + (params.seed % 6)];
  const base = composite(subject, flat(size, bg));
  const cells = Math.ceil(size / block);
  const index = new Int32Array(cells * cells);
  const cover = new Float32Array(cells * cells);
  for (let cy = 0; cy < cells; cy++) {
    for (let cx = 0; cx < cells; cx++) {
      let r = 0, g = 0, b = 0, a = 0, n = 0;
      for (let y = cy * block; y < Math.min(size, (cy + 1) * block); y++) {
        for (let x = cx * block; x < Math.min(size, (cx + 1) * block); x++) {
          const i = y * size + x;
          r += base[3 * i]; g += base[3 * i + 1]; b += base[3 * i + 2]; a += subject.alpha[i]; n++;
        }
      }
      index[cy * cells + cx] = nearestColor(PIXEL_PALETTE, r / n, g / n, b / n);
      cover[cy * cells + cx] = a / n;
    }
  }
  const out = new Float32Array(size * size * 3);
  const inside = (cx: number, cy: number) => cx >= 0 && cy >= 0 && cx < cells && cy < cells && cover[cy * cells + cx] >= 0.5;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const cx = Math.floor(x / block), cy = Math.floor(y / block);
      // a one-cell dark outline around the figure, as sprites have
      const rim = !inside(cx, cy) && (inside(cx - 1, cy) || inside(cx + 1, cy) || inside(cx, cy - 1) || inside(cx, cy + 1));
      const c = rim ? PIXEL_PALETTE[0] : PIXEL_PALETTE[index[cy * cells + cx]];
      const i = 3 * (y * size + x);
      out[i] = c[0]; out[i + 1] = c[1]; out[i + 2] = c[2];
    }
  }
  return toRgbaImage(out, size);
}

function watercolor(subject: SubjectLayer, params: PhotoParams, rng: SeededRandom): RgbaImage {
  const size = subject.size;
  const paper: Rgb = [0.98, 0.96, 0.9];
  const wash = mixRgb(params.background.a, paper, 0.55);
  const blotch = valueNoise(size, 5, rng);
  const fine = valueNoise(size, 14, rng);
  const salt = Math.floor(rng.random() * 1e9);
  const r = scaled(size, 1);
  const color = boxBlur(boxBlur(composite(subject, flat(size, paper)), size, 3, r), size, 3, r);
  const alpha = softBlur(subject.alpha, size, 1, r);
  const edges = sobel(luminance(color), size);
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    // pigment density varies in blotches; the figure's edge bleeds where the noise is high
    const density = 0.75 + 0.45 * blotch[i] + 0.2 * (fine[i] - 0.5);
    let a = (alpha[i] - 0.5 + 0.45 * (fine[i] - 0.5)) * 3 + 0.5;
    a = a < 0 ? 0 : a > 1 ? 1 : a;
    const bgStrength = 0.35 * blotch[i];
    const grain = (latticeHash(i % size, Math.floor(i / size), salt) - 0.5) * 0.03;
    for (let k = 0; k < 3; k++) {
      const pigment = 1 - (1 - color[3 * i + k]) * density;
      const ground = paper[k] + (wash[k] - paper[k]) * bgStrength;
      out[3 * i + k] = (pigment * a + ground * (1 - a)) * (1 - 1.2 * edges[i] * a) + grain;
    }
  }
  return toRgbaImage(out, size);
}

function neon(subject: SubjectLayer, rng: SeededRandom): RgbaImage {
  const size = subject.size;
  const hue = rng.random();
  const glowA = hsv(hue, 0.85, 1);
  const glowB = hsv(hue + 0.45, 0.85, 1);
  const base = composite(subject, flat(size, [0, 0, 0]));
  const lum = luminance(base);
  const lines = colorEdges(base, size);
  const colored = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const e = Math.min(1, lines[i] * 2.2);
    const t = Math.min(1, lum[i] * 1.6);
    for (let k = 0; k < 3; k++) colored[3 * i + k] = e * (glowB[k] + (glowA[k] - glowB[k]) * t);
  }
  const glow = softBlur(colored, size, 3, scaled(size, 1.5));
  const out = new Float32Array(size * size * 3);
  const bgTop: Rgb = [0.03, 0.02, 0.08], bgBottom: Rgb = [0.08, 0.02, 0.12];
  for (let y = 0; y < size; y++) {
    const t = y / size;
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      for (let k = 0; k < 3; k++) {
        const bg = bgTop[k] + (bgBottom[k] - bgTop[k]) * t;
        const core = colored[3 * i + k] * 0.9 + (colored[3 * i + k] > 0.4 ? 0.25 : 0);
        out[3 * i + k] = bg * (1 - subject.alpha[i] * 0.5) + base[3 * i + k] * 0.04 + glow[3 * i + k] * 0.9 + core;
      }
    }
  }
  return toRgbaImage(out, size);
}

function oilPainting(subject: SubjectLayer, params: PhotoParams, rng: SeededRandom): RgbaImage {
  const size = subject.size;
  const bgHue = 0.05 + rng.random() * 0.35; // browns to olive greens, as in old portraits
  const background = renderBackground({ kind: 'radial', a: hsv(bgHue, 0.5, 0.42), b: hsv(bgHue, 0.6, 0.16), turns: 0, period: 1 }, size);
  const base = saturate(composite(subject, background), 1.2);
  const painted = kuwahara(base, size, scaled(size, 2));
  // elongated noise: horizontal-ish brush strokes
  const strokes = valueNoise(size, 7, rng, 26);
  const levels = 12;
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      // canvas weave and brush texture modulate the quantized paint
      const weave = (x + y) % 2 === 0 ? 1.01 : 0.99;
      const texture = (0.95 + 0.1 * strokes[i]) * weave * params.exposure;
      for (let k = 0; k < 3; k++) {
        // the stroke noise dithers the quantization so bands break into strokes
        const q = Math.floor(painted[3 * i + k] * levels + 0.5 + (strokes[i] - 0.5) * 0.5) / levels;
        out[3 * i + k] = q * texture;
      }
    }
  }
  return toRgbaImage(out, size);
}

/** `identity` in `style`, posed and lit as photo `photoSeed` (or explicit photo parameters). */
export function renderStyled(identity: Identity, style: Style, photo: number | PhotoParams, size = DEFAULT_IMAGE_SIZE): RgbaImage {
  if (!isStyle(style)) throw new RangeError(`unknown style '${style}' (styles: ${STYLES.join(', ')})`);
  const params = typeof photo === 'number' ? samplePhotoParams(photo) : photo;
  if (style === 'photo') return renderPhoto(identity, params, { size });
  const subject = renderSubject(identity, params, size);
  const rng = styleRng(params, style);
  switch (style) {
    case 'black-and-white': return blackAndWhite(subject, params, rng);
    case 'pencil-sketch': return pencilSketch(subject, rng);
    case 'pop-art': return popArt(subject, rng);
    case 'pixel-art': return pixelArt(subject, params);
    case 'watercolor': return watercolor(subject, params, rng);
    case 'neon': return neon(subject, rng);
    case 'oil-painting': return oilPainting(subject, params, rng);
  }
}
