// An identity of the synthetic portrait world: every trait the renderer draws, drawn from one
// seed. Geometry is in face units (the image spans −1…1 at pose scale 1, y down); colours are
// RGB in 0…1. Plain JSON: an identity written to a shard index reads back identical.
import type { SeededRandom } from '../diffusion/random';
import { datasetRng, STREAM } from './rng';

export type Rgb = [number, number, number];

export const HAIR_STYLES = ['short', 'long', 'bob', 'bald', 'curly', 'ponytail', 'bun'] as const;
export type HairStyle = (typeof HAIR_STYLES)[number];
export const HAIR_COLORS = ['black', 'brown', 'blond', 'red', 'grey', 'white', 'blue', 'pink'] as const;
export type HairColor = (typeof HAIR_COLORS)[number];
export const EYE_COLORS = ['brown', 'blue', 'green', 'grey', 'hazel'] as const;
export type EyeColor = (typeof EYE_COLORS)[number];
export const GLASSES = ['none', 'round', 'square'] as const;
export type Glasses = (typeof GLASSES)[number];
export const BEARDS = ['none', 'stubble', 'full'] as const;
export type Beard = (typeof BEARDS)[number];
export type Presentation = 'man' | 'woman';

export interface Identity {
  seed: number;
  presentation: Presentation;
  /** half width and half height of the face oval; jaw narrows the lower half; chin 0 round … 1 square */
  face: { width: number; height: number; jaw: number; chin: number };
  /** 0 lightest … 1 darkest, and the colour it gives */
  skinTone: number;
  skin: Rgb;
  /** part: −1…1 where the fringe parts; volume 0…1; fringe 0…1 how low it reaches */
  hair: { style: HairStyle; color: HairColor; rgb: Rgb; part: number; volume: number; fringe: number };
  /** spacing: centre to eye centre; size: eye half width; height: offset of the eye line */
  eyes: { color: EyeColor; rgb: Rgb; spacing: number; size: number; height: number };
  /** angle > 0 lowers the inner ends (stern), < 0 raises them (worried) */
  brows: { thickness: number; angle: number; height: number; arch: number; rgb: Rgb };
  nose: { length: number; width: number };
  mouth: { width: number; fullness: number; lip: Rgb };
  ears: { size: number; protrusion: number };
  glasses: Glasses;
  glassesRgb: Rgb;
  beard: Beard;
  /** freckle centres relative to the midpoint between the eyes, face units (empty: none) */
  freckles: Array<[number, number]>;
}

const SKIN_ANCHORS: Rgb[] = [
  [1.0, 0.87, 0.77], [0.95, 0.76, 0.63], [0.87, 0.66, 0.49], [0.69, 0.47, 0.32], [0.45, 0.29, 0.19],
];
export const HAIR_RGB: Record<HairColor, Rgb> = {
  black: [0.1, 0.08, 0.08], brown: [0.38, 0.23, 0.13], blond: [0.9, 0.75, 0.42], red: [0.72, 0.28, 0.12],
  grey: [0.6, 0.6, 0.6], white: [0.93, 0.93, 0.9], blue: [0.2, 0.35, 0.8], pink: [0.93, 0.45, 0.68],
};
const EYE_RGB: Record<EyeColor, Rgb> = {
  brown: [0.36, 0.2, 0.1], blue: [0.2, 0.48, 0.85], green: [0.25, 0.58, 0.3], grey: [0.5, 0.56, 0.62], hazel: [0.58, 0.42, 0.18],
};
const FRAME_RGB: Rgb[] = [[0.07, 0.07, 0.09], [0.42, 0.22, 0.1], [0.8, 0.64, 0.28], [0.72, 0.1, 0.12], [0.15, 0.25, 0.62]];
const LIP_TINTS: Rgb[] = [[0.78, 0.2, 0.28], [0.85, 0.4, 0.5], [0.62, 0.16, 0.2], [0.8, 0.3, 0.25]];

function uniform(rng: SeededRandom, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.random();
}

function pick<T extends string>(rng: SeededRandom, table: Record<T, number>): T {
  const entries = Object.entries(table) as Array<[T, number]>;
  let total = 0;
  for (const [, w] of entries) total += w;
  let u = rng.random() * total;
  for (const [k, w] of entries) {
    if (u < w) return k;
    u -= w;
  }
  return entries[entries.length - 1][0];
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const scale = (c: Rgb, k: number): Rgb => [c[0] * k, c[1] * k, c[2] * k];
const clampRgb = (c: Rgb): Rgb => c.map((v) => (v < 0 ? 0 : v > 1 ? 1 : v)) as Rgb;

function jitter(rng: SeededRandom, c: Rgb, amount: number): Rgb {
  const k = 1 + (rng.random() - 0.5) * amount;
  return clampRgb([c[0] * k * (1 + (rng.random() - 0.5) * amount * 0.5), c[1] * k, c[2] * k * (1 + (rng.random() - 0.5) * amount * 0.5)]);
}

function skinColor(tone: number): Rgb {
  const t = tone * (SKIN_ANCHORS.length - 1);
  const i = Math.min(SKIN_ANCHORS.length - 2, Math.floor(t));
  return mix(SKIN_ANCHORS[i], SKIN_ANCHORS[i + 1], t - i);
}

const HAIR_STYLE_WEIGHTS: Record<Presentation, Record<HairStyle, number>> = {
  man: { short: 40, long: 9, bob: 4, bald: 14, curly: 18, ponytail: 8, bun: 7 },
  woman: { short: 10, long: 32, bob: 18, bald: 0, curly: 15, ponytail: 15, bun: 10 },
};
const HAIR_COLOR_WEIGHTS: Record<HairColor, number> = { black: 25, brown: 30, blond: 17, red: 10, grey: 8, white: 3, blue: 3.5, pink: 3.5 };
const EYE_COLOR_WEIGHTS: Record<EyeColor, number> = { brown: 40, blue: 22, green: 14, grey: 10, hazel: 14 };
const GLASSES_WEIGHTS: Record<Glasses, number> = { none: 60, round: 20, square: 20 };
const BEARD_WEIGHTS: Record<Beard, number> = { none: 55, stubble: 20, full: 25 };

/** The identity of `seed` (any non-negative safe integer); the draw order below is part of the format. */
export function sampleIdentity(seed: number): Identity {
  const rng = datasetRng(seed, STREAM.identity);
  const presentation: Presentation = rng.random() < 0.5 ? 'man' : 'woman';
  const woman = presentation === 'woman';
  const face = {
    width: uniform(rng, 0.33, 0.43) * (woman ? 0.97 : 1.02),
    height: uniform(rng, 0.44, 0.54),
    jaw: uniform(rng, 0.05, 0.45),
    chin: uniform(rng, 0, 1) * (woman ? 0.6 : 1),
  };
  const skinTone = rng.random();
  const skin = jitter(rng, skinColor(skinTone), 0.06);
  const style = pick(rng, HAIR_STYLE_WEIGHTS[presentation]);
  const color = pick(rng, HAIR_COLOR_WEIGHTS);
  const hair = { style, color, rgb: jitter(rng, HAIR_RGB[color], 0.18), part: uniform(rng, -1, 1), volume: rng.random(), fringe: rng.random() };
  const eyeColor = pick(rng, EYE_COLOR_WEIGHTS);
  const eyes = {
    color: eyeColor, rgb: jitter(rng, EYE_RGB[eyeColor], 0.15),
    spacing: uniform(rng, 0.13, 0.19), size: uniform(rng, 0.052, 0.078), height: uniform(rng, -0.04, 0.03),
  };
  // brows follow the hair, darker; light hair still gets visible brows
  const browBase = style === 'bald' || color === 'blue' || color === 'pink' ? mix(scale(skin, 0.35), [0.25, 0.16, 0.1], 0.5) : scale(hair.rgb, 0.72);
  const brows = {
    thickness: uniform(rng, 0.009, 0.024) * (woman ? 0.8 : 1.1), angle: uniform(rng, -0.35, 0.35),
    height: uniform(rng, 0.075, 0.11), arch: uniform(rng, 0, 0.025), rgb: browBase,
  };
  const nose = { length: uniform(rng, 0.09, 0.17), width: uniform(rng, 0.032, 0.065) };
  const lipTint = LIP_TINTS[Math.floor(rng.random() * LIP_TINTS.length)];
  const mouth = {
    width: uniform(rng, 0.095, 0.16), fullness: uniform(rng, 0.014, 0.03) * (woman ? 1.15 : 0.9),
    lip: clampRgb(mix(scale(skin, 0.8), lipTint, woman ? uniform(rng, 0.45, 0.8) : uniform(rng, 0.15, 0.35))),
  };
  const ears = { size: uniform(rng, 0.8, 1.25), protrusion: rng.random() };
  const glasses = pick(rng, GLASSES_WEIGHTS);
  const glassesRgb = FRAME_RGB[Math.floor(rng.random() * FRAME_RGB.length)];
  const beardDraw = pick(rng, BEARD_WEIGHTS);
  const beard: Beard = woman ? 'none' : beardDraw;
  const freckles: Array<[number, number]> = [];
  if (rng.random() < 0.2) {
    const n = 10 + Math.floor(rng.random() * 12);
    for (let i = 0; i < n; i++) {
      const side = i % 2 === 0 ? -1 : 1;
      freckles.push([side * uniform(rng, 0.05, 0.24), uniform(rng, 0.045, 0.14)]);
    }
  }
  return { seed, presentation, face, skinTone, skin, hair, eyes, brows, nose, mouth, ears, glasses, glassesRgb, beard, freckles };
}

/** The coarse, nameable traits captions use and classifiers can be trained on. */
export interface IdentityAttributes {
  presentation: Presentation;
  hairStyle: HairStyle;
  hairColor: HairColor;
  glasses: Glasses;
  beard: Beard;
  eyeColor: EyeColor;
  freckles: boolean;
}

export function identityAttributes(id: Identity): IdentityAttributes {
  return {
    presentation: id.presentation, hairStyle: id.hair.style, hairColor: id.hair.color, glasses: id.glasses,
    beard: id.beard, eyeColor: id.eyes.color, freckles: id.freckles.length > 0,
  };
}

export { mix as mixRgb, scale as scaleRgb, clampRgb };
