// A "photo" of an identity: what varies between shots (pose, light, expression, outfit,
// background, exposure) is drawn from the photo seed; the identity fixes everything else.
import { portableSinCos, type SeededRandom } from '../diffusion/random';
import { datasetRng, STREAM } from './rng';
import { createRgbaImage, type RgbaImage } from '../face/image';
import type { Identity, Rgb } from './identity';
import { drawPortrait, type Expression, type Neckline, type Outfit } from './portrait';
import { Canvas, type Light, type Pose } from './raster';

export const DEFAULT_IMAGE_SIZE = 64;
export const BACKGROUND_KINDS = ['solid', 'gradient', 'radial', 'stripes', 'dots'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

export interface Background {
  kind: BackgroundKind;
  a: Rgb;
  b: Rgb;
  /** stripe direction in turns */
  turns: number;
  /** stripe or dot period in image units */
  period: number;
}

export interface PhotoParams {
  seed: number;
  pose: Pose;
  light: Light;
  /** overall brightness factor */
  exposure: number;
  /** colour temperature: red up and blue down by this fraction */
  warmth: number;
  expression: Expression;
  outfit: Outfit;
  background: Background;
}

/** Subject layer: premultiplied RGB and coverage, size × size. */
export interface SubjectLayer {
  size: number;
  rgb: Float32Array;
  alpha: Float32Array;
}

/** HSV (all 0…1) to RGB with arithmetic only. */
export function hsv(h: number, s: number, v: number): Rgb {
  const hh = (h - Math.floor(h)) * 6;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (i) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

/** Head-and-shoulders framing: the face fills about 60% of the image width. */
export const FRAMING_SCALE = 1.45;
export const FRAMING_SHIFT_Y = 0.02;

const uniform = (rng: SeededRandom, lo: number, hi: number) => lo + (hi - lo) * rng.random();

/** Everything that varies between photos of one identity; the draw order is part of the format. */
export function samplePhotoParams(photoSeed: number): PhotoParams {
  const rng = datasetRng(photoSeed, STREAM.photo);
  const pose: Pose = {
    turns: uniform(rng, -10, 10) / 360, scale: FRAMING_SCALE * uniform(rng, 0.9, 1.1),
    shiftX: uniform(rng, -0.08, 0.08), shiftY: FRAMING_SHIFT_Y + uniform(rng, -0.06, 0.06),
  };
  const [dirY, dirX] = portableSinCos(rng.random());
  const light: Light = { dirX, dirY, intensity: uniform(rng, 0, 0.35) };
  const exposure = uniform(rng, 0.85, 1.1);
  const warmth = uniform(rng, -0.06, 0.06);
  const expression: Expression = {
    smile: uniform(rng, -0.2, 1), eyeOpen: uniform(rng, 0.6, 1.1), browRaise: uniform(rng, -0.01, 0.025),
    gaze: uniform(rng, -1, 1), turn: uniform(rng, -0.6, 0.6),
  };
  const necklines: Neckline[] = ['crew', 'vneck', 'collar'];
  const outfit: Outfit = { rgb: hsv(rng.random(), uniform(rng, 0.2, 0.8), uniform(rng, 0.25, 0.9)), neckline: necklines[Math.floor(rng.random() * 3)] };
  const kind = BACKGROUND_KINDS[Math.floor(rng.random() * BACKGROUND_KINDS.length)];
  const hue = rng.random();
  const background: Background = {
    kind,
    a: hsv(hue, uniform(rng, 0.05, 0.55), uniform(rng, 0.55, 0.97)),
    b: hsv(hue + uniform(rng, -0.15, 0.15), uniform(rng, 0.05, 0.6), uniform(rng, 0.35, 0.9)),
    turns: rng.random(),
    period: uniform(rng, 0.12, 0.35),
  };
  return { seed: photoSeed, pose, light, exposure, warmth, expression, outfit, background };
}

export function renderSubject(identity: Identity, params: PhotoParams, size: number): SubjectLayer {
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new RangeError(`image size must be an integer in 8…4096, got ${size}`);
  const canvas = new Canvas(size, params.pose, params.light);
  drawPortrait(canvas, identity, params.expression, params.outfit);
  return { size, rgb: canvas.rgb, alpha: canvas.alpha };
}

/** Background pixels (RGB floats, size × size) in image space: the pose does not move them. */
export function renderBackground(bg: Background, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  const [sin, cos] = portableSinCos(bg.turns);
  const px = 2 / size; // image units per pixel
  for (let y = 0; y < size; y++) {
    const v = (y + 0.5) * px - 1;
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) * px - 1;
      let t: number;
      switch (bg.kind) {
        case 'solid': t = 0; break;
        case 'gradient': t = (v + 1) / 2; break;
        case 'radial': t = Math.min(1, (u * u + v * v) / 2); break;
        case 'stripes': {
          const w = (u * cos + v * sin) / bg.period;
          const f = w - Math.floor(w);
          // distance to the stripe edge in pixels gives a one-pixel anti-aliased edge
          const d = (Math.abs(f - 0.5) - 0.25) * (bg.period / px);
          t = d > 0.5 ? 1 : d < -0.5 ? 0 : d + 0.5;
          break;
        }
        case 'dots': {
          const gu = u / bg.period - Math.floor(u / bg.period) - 0.5;
          const gv = v / bg.period - Math.floor(v / bg.period) - 0.5;
          const d = (Math.sqrt(gu * gu + gv * gv) - 0.22) * (bg.period / px);
          t = d > 0.5 ? 0 : d < -0.5 ? 1 : 0.5 - d;
          break;
        }
      }
      const i = 3 * (y * size + x);
      out[i] = bg.a[0] + (bg.b[0] - bg.a[0]) * t;
      out[i + 1] = bg.a[1] + (bg.b[1] - bg.a[1]) * t;
      out[i + 2] = bg.a[2] + (bg.b[2] - bg.a[2]) * t;
    }
  }
  return out;
}

/** subject over background, into a new RGB float plane */
export function composite(subject: SubjectLayer, background: Float32Array): Float32Array {
  const n = subject.size * subject.size;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const keep = 1 - subject.alpha[i];
    out[3 * i] = subject.rgb[3 * i] + background[3 * i] * keep;
    out[3 * i + 1] = subject.rgb[3 * i + 1] + background[3 * i + 1] * keep;
    out[3 * i + 2] = subject.rgb[3 * i + 2] + background[3 * i + 2] * keep;
  }
  return out;
}

/** RGB floats (0…1) to an opaque RGBA image; Uint8ClampedArray rounds and clamps the same everywhere. */
export function toRgbaImage(rgb: Float32Array, size: number): RgbaImage {
  const img = createRgbaImage(size, size);
  const d = img.data;
  for (let i = 0, n = size * size; i < n; i++) {
    d[4 * i] = rgb[3 * i] * 255;
    d[4 * i + 1] = rgb[3 * i + 1] * 255;
    d[4 * i + 2] = rgb[3 * i + 2] * 255;
    d[4 * i + 3] = 255;
  }
  return img;
}

export interface RenderOptions {
  /** square image side in pixels (default 64, the tiny pack's resolution) */
  size?: number;
}

/** One photo of `identity`; `photo` is a photo seed or explicit parameters. */
export function renderPhoto(identity: Identity, photo: number | PhotoParams, opts: RenderOptions = {}): RgbaImage {
  const size = opts.size ?? DEFAULT_IMAGE_SIZE;
  const params = typeof photo === 'number' ? samplePhotoParams(photo) : photo;
  const rgb = composite(renderSubject(identity, params, size), renderBackground(params.background, size));
  const kr = params.exposure * (1 + params.warmth);
  const kg = params.exposure;
  const kb = params.exposure * (1 - params.warmth);
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] *= kr;
    rgb[i + 1] *= kg;
    rgb[i + 2] *= kb;
  }
  return toRgbaImage(rgb, size);
}
