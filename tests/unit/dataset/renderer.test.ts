import { describe, expect, it } from 'vitest';
import {
  identitySeed, photoSeed, renderPhoto, renderStyled, sampleIdentity, samplePhotoParams, STYLES, HAIR_STYLES, type Identity,
} from '../../../src/dataset';
import { meanAbsDiff, sha256 } from './helpers';

const train0 = () => sampleIdentity(identitySeed('train', 0));
const heldout7 = () => sampleIdentity(identitySeed('heldout', 7, 3));

describe('sampleIdentity', () => {
  it('is a pure function of the seed and survives a JSON round trip', () => {
    const a = sampleIdentity(12345);
    expect(sampleIdentity(12345)).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it('gives different identities for different seeds', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) seen.add(JSON.stringify({ ...sampleIdentity(identitySeed('train', i)), seed: 0 }));
    expect(seen.size).toBe(500);
  });

  it('draws every hair style, glasses and beard kind, and both presentations, over a few hundred seeds', () => {
    const ids: Identity[] = [];
    for (let i = 0; i < 400; i++) ids.push(sampleIdentity(identitySeed('train', i)));
    expect(new Set(ids.map((d) => d.hair.style))).toEqual(new Set(HAIR_STYLES));
    expect(new Set(ids.map((d) => d.glasses))).toEqual(new Set(['none', 'round', 'square']));
    expect(new Set(ids.map((d) => d.beard))).toEqual(new Set(['none', 'stubble', 'full']));
    expect(new Set(ids.map((d) => d.presentation))).toEqual(new Set(['man', 'woman']));
    // beards only on men
    expect(ids.every((d) => d.presentation === 'man' || d.beard === 'none')).toBe(true);
  });
});

describe('renderPhoto', () => {
  it('is deterministic: same identity and photo seed give identical bytes', () => {
    const id = train0();
    const a = renderPhoto(id, photoSeed(id.seed, 0));
    const b = renderPhoto(sampleIdentity(id.seed), photoSeed(id.seed, 0));
    expect(a.width).toBe(64);
    expect(a.height).toBe(64);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
  });

  // Pinned so any change to the renderer (or to the PRNG under it) is noticed: a change of
  // these bytes changes every dataset and invalidates trained weights. Update deliberately.
  it('renders the pinned bytes', () => {
    const t = train0();
    const v = heldout7();
    expect(sha256(renderPhoto(t, photoSeed(t.seed, 0)).data).slice(0, 16)).toBe('bbc21de0490f8756');
    expect(sha256(renderPhoto(v, photoSeed(v.seed, 2)).data).slice(0, 16)).toBe('8e62dac706204070');
    expect(sha256(renderPhoto(t, photoSeed(t.seed, 1), { size: 128 }).data).slice(0, 16)).toBe('57c4212813a5386f');
    const styled = Object.fromEntries(STYLES.map((s) => [s, sha256(renderStyled(v, s, photoSeed(v.seed, 0), 64).data).slice(0, 16)]));
    expect(styled).toEqual({
      photo: '6c1e3c7de9040969',
      'black-and-white': '171cb7034941136c',
      'pencil-sketch': 'ea1bbe7a10e65100',
      'pop-art': '51f22586ee232fee',
      'pixel-art': 'bceded9df9481228',
      watercolor: 'e9363949b3353d1c',
      neon: 'd1220f5d5456955c',
      'oil-painting': '4420078893fd27d0',
    });
  });

  it('renders opaque images at 64, 128 and 256 that agree with each other when downsampled', () => {
    const id = heldout7();
    const ps = photoSeed(id.seed, 1);
    const big = renderPhoto(id, ps, { size: 256 });
    const small = renderPhoto(id, ps, { size: 64 });
    for (const img of [big, small, renderPhoto(id, ps, { size: 128 })]) {
      for (let i = 3; i < img.data.length; i += 4) expect(img.data[i]).toBe(255);
    }
    // box-downsample 256 → 64 and compare: same picture, only the anti-aliasing differs
    const down = { width: 64, height: 64, data: new Uint8ClampedArray(64 * 64 * 4) };
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        for (let c = 0; c < 4; c++) {
          let s = 0;
          for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += big.data[((4 * y + dy) * 256 + 4 * x + dx) * 4 + c];
          down.data[(y * 64 + x) * 4 + c] = s / 16;
        }
      }
    }
    expect(meanAbsDiff(down, small)).toBeLessThan(6);
  });

  it('makes photos of one identity closer to each other than to other identities (face region, 30 identities)', () => {
    const n = 30;
    const face = { x0: 16, y0: 12, x1: 48, y1: 52 };
    const shots = (p: number) => Array.from({ length: n }, (_, i) => {
      const id = sampleIdentity(identitySeed('train', i));
      return renderPhoto(id, photoSeed(id.seed, p));
    });
    const a = shots(0);
    const b = shots(1);
    let intra = 0;
    let inter = 0;
    let nearestIsSelf = 0;
    for (let i = 0; i < n; i++) {
      intra += meanAbsDiff(a[i], b[i], face) / n;
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < n; j++) {
        const d = meanAbsDiff(a[i], b[j], face);
        if (j !== i) inter += d / (n * (n - 1));
        if (d < bestD) [best, bestD] = [j, d];
      }
      if (best === i) nearestIsSelf++;
    }
    expect(inter).toBeGreaterThan(intra * 1.5);
    // even raw-pixel nearest neighbour finds the same person far above chance (1/30)
    expect(nearestIsSelf / n).toBeGreaterThan(0.3);
  });

  it('varies pose, light, expression and background between photos of one identity', () => {
    const id = train0();
    const params = [0, 1, 2, 3, 4, 5].map((p) => samplePhotoParams(photoSeed(id.seed, p)));
    const spread = (f: (p: (typeof params)[number]) => number) => Math.max(...params.map(f)) - Math.min(...params.map(f));
    expect(spread((p) => p.pose.turns * 360)).toBeGreaterThan(3);
    expect(params.every((p) => Math.abs(p.pose.turns * 360) <= 10)).toBe(true);
    expect(spread((p) => p.expression.smile)).toBeGreaterThan(0.2);
    expect(spread((p) => p.light.intensity)).toBeGreaterThan(0.05);
    expect(new Set(params.map((p) => p.background.a.join())).size).toBe(6);
    const imgs = params.map((p) => renderPhoto(id, p));
    for (let i = 1; i < imgs.length; i++) expect(meanAbsDiff(imgs[0], imgs[i])).toBeGreaterThan(3);
  });

  it('renders 200 photos of 64×64 in well under a second each', () => {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      const id = sampleIdentity(identitySeed('val', i));
      renderPhoto(id, photoSeed(id.seed, 0));
    }
    const perPhoto = (performance.now() - t0) / 200;
    // about 3–6 ms here; the bound only catches an accidental slowdown by an order of magnitude
    expect(perPhoto).toBeLessThan(50);
  });

  it('rejects sizes it cannot draw', () => {
    expect(() => renderPhoto(train0(), 1, { size: 0 })).toThrow(RangeError);
    expect(() => renderPhoto(train0(), 1, { size: 64.5 })).toThrow(RangeError);
  });
});
