import { describe, expect, it } from 'vitest';
import { identitySeed, photoSeed, renderStyled, sampleIdentity, STYLES, type Style } from '../../../src/dataset';
import type { RgbaImage } from '../../../src/face/image';
import { distinctColors, isGreyscale, meanAbsDiff, meanLuminance, meanSaturation } from './helpers';

const ids = Array.from({ length: 6 }, (_, i) => sampleIdentity(identitySeed('val', i)));
const render = (style: Style, size = 64): RgbaImage[] => ids.map((id, i) => renderStyled(id, style, photoSeed(id.seed, i % 3), size));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const byStyle = Object.fromEntries(STYLES.map((s) => [s, render(s)])) as Record<Style, RgbaImage[]>;

describe('styles', () => {
  it('the photo style is renderPhoto', () => {
    expect(byStyle.photo.every((img) => !isGreyscale(img))).toBe(true);
  });

  it('pencil sketch and black-and-white are greyscale', () => {
    for (const s of ['pencil-sketch', 'black-and-white'] as const) expect(byStyle[s].every(isGreyscale)).toBe(true);
  });

  it('pencil sketch is mostly white paper; black-and-white is not', () => {
    const sketch = mean(byStyle['pencil-sketch'].map(meanLuminance));
    expect(sketch).toBeGreaterThan(0.6);
    expect(sketch).toBeGreaterThan(mean(byStyle['black-and-white'].map(meanLuminance)) + 0.15);
  });

  it('pixel art has few colours, in uniform blocks', () => {
    for (const img of byStyle['pixel-art']) {
      expect(distinctColors(img)).toBeLessThanOrEqual(20);
      const block = 3; // floor(64 / 21)
      for (let y = 0; y < 63; y += block) {
        for (let x = 0; x < 63; x += block) {
          const o = (y * 64 + x) * 4;
          for (let d = 1; d < block && x + d < 64; d++) expect(img.data[o + 4 * d]).toBe(img.data[o]);
        }
      }
    }
    expect(mean(byStyle.photo.map(distinctColors))).toBeGreaterThan(300);
  });

  it('neon is dark with bright saturated lines', () => {
    expect(mean(byStyle.neon.map(meanLuminance))).toBeLessThan(mean(byStyle.photo.map(meanLuminance)) / 2);
    for (const img of byStyle.neon) {
      expect(meanLuminance(img)).toBeLessThan(0.35); // the mean over identities, above, is the strict check
      let bright = 0;
      for (let i = 0; i < img.data.length; i += 4) if (Math.max(img.data[i], img.data[i + 1], img.data[i + 2]) > 200) bright++;
      expect(bright).toBeGreaterThan(100);
    }
  });

  it('pop art is more saturated than the photo; watercolor is paler', () => {
    expect(mean(byStyle['pop-art'].map(meanSaturation))).toBeGreaterThan(mean(byStyle.photo.map(meanSaturation)) + 0.1);
    expect(mean(byStyle.watercolor.map(meanLuminance))).toBeGreaterThan(mean(byStyle.photo.map(meanLuminance)));
    expect(mean(byStyle.watercolor.map(meanSaturation))).toBeLessThan(mean(byStyle.photo.map(meanSaturation)));
  });

  it('oil painting flattens detail: fewer colours than the photo', () => {
    expect(mean(byStyle['oil-painting'].map(distinctColors))).toBeLessThan(mean(byStyle.photo.map(distinctColors)));
  });

  it('every pair of styles looks different on the same identity and photo', () => {
    for (let a = 0; a < STYLES.length; a++) {
      for (let b = a + 1; b < STYLES.length; b++) {
        const d = mean(ids.map((_, i) => meanAbsDiff(byStyle[STYLES[a]][i], byStyle[STYLES[b]][i])));
        expect(d, `${STYLES[a]} vs ${STYLES[b]}`).toBeGreaterThan(12);
      }
    }
  });

  it('keeps the pose: the figure sits in the same place in every style', () => {
    // the subject's silhouette row span agrees between the photo and the pixel-art render
    const id = ids[0];
    const ps = photoSeed(id.seed, 0);
    const a = renderStyled(id, 'photo', ps, 128);
    const b = renderStyled(id, 'black-and-white', ps, 128);
    const la = new Float32Array(128 * 128), lb = new Float32Array(128 * 128);
    for (let i = 0; i < la.length; i++) {
      la[i] = a.data[4 * i] + a.data[4 * i + 1] + a.data[4 * i + 2];
      lb[i] = b.data[4 * i];
    }
    // the luminance structures correlate strongly
    const m = (v: Float32Array) => v.reduce((s, x) => s + x, 0) / v.length;
    const ma = m(la), mb = m(lb);
    let sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < la.length; i++) {
      sab += (la[i] - ma) * (lb[i] - mb);
      saa += (la[i] - ma) ** 2;
      sbb += (lb[i] - mb) ** 2;
    }
    expect(sab / Math.sqrt(saa * sbb)).toBeGreaterThan(0.8);
  });

  it('works at 128 and 256 and refuses unknown styles', () => {
    for (const s of STYLES) {
      const img = renderStyled(ids[1], s, 5, 128);
      expect(img.width).toBe(128);
    }
    expect(renderStyled(ids[1], 'neon', 5, 256).width).toBe(256);
    expect(() => renderStyled(ids[1], 'cubism' as Style, 5)).toThrow(/unknown style/);
  });
});
