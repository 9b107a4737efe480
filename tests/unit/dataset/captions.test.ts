import { describe, expect, it } from 'vitest';
import {
  caption, datasetWords, describeSubject, identitySeed, sampleIdentity, STYLES, STYLE_CAPTION_PREFIX, type Identity,
} from '../../../src/dataset';

const base = sampleIdentity(identitySeed('train', 0));
const withTraits = (t: { presentation?: Identity['presentation']; style?: Identity['hair']['style']; color?: Identity['hair']['color']; glasses?: Identity['glasses']; beard?: Identity['beard']; freckles?: boolean }): Identity => ({
  ...base,
  presentation: t.presentation ?? 'woman',
  hair: { ...base.hair, style: t.style ?? 'long', color: t.color ?? 'red' },
  glasses: t.glasses ?? 'none',
  beard: t.beard ?? 'none',
  freckles: t.freckles ? [[0.1, 0.1]] : [],
});

describe('captions', () => {
  it('reads like the examples', () => {
    expect(caption(withTraits({ glasses: 'round' }), 'photo')).toBe('a photo of a woman with long red hair and round glasses');
    expect(caption(withTraits({ presentation: 'man', style: 'bald', beard: 'full' }), 'pencil-sketch')).toBe('a pencil sketch of a bald man with a beard');
    expect(caption(withTraits({ presentation: 'man', style: 'bald' }), 'neon')).toBe('a neon portrait of a bald man');
    expect(caption(withTraits({ presentation: 'man', style: 'short', color: 'black', glasses: 'square', beard: 'stubble' }), 'oil-painting'))
      .toBe('an oil painting of a man with short black hair, square glasses and stubble');
    expect(caption(withTraits({ style: 'bob', color: 'blond', freckles: true }), 'pop-art')).toBe('a pop art portrait of a woman with a blond bob and freckles');
  });

  it('contains the style words and the identity\'s attributes', () => {
    for (let i = 0; i < 300; i++) {
      const id = sampleIdentity(identitySeed('val', i));
      for (const style of STYLES) {
        const c = caption(id, style);
        expect(c.startsWith(STYLE_CAPTION_PREFIX[style] + ' ')).toBe(true);
        expect(c).toContain(id.presentation);
        if (id.hair.style === 'bald') expect(c).toContain('bald');
        else expect(c).toContain(id.hair.color);
        if (id.glasses !== 'none') expect(c).toContain(`${id.glasses} glasses`);
        else expect(c).not.toContain('glasses');
        if (id.beard === 'full') expect(c).toContain('beard');
        if (id.beard === 'stubble') expect(c).toContain('stubble');
      }
    }
  });

  it('uses only words from datasetWords()', () => {
    const vocab = new Set(datasetWords());
    for (let i = 0; i < 500; i++) {
      const id = sampleIdentity(identitySeed('train', i));
      for (const style of STYLES) for (const w of caption(id, style).split(/[ ,]+/)) expect(vocab.has(w), w).toBe(true);
    }
    expect(datasetWords()).toEqual([...vocab].sort());
    for (const w of ['pencil', 'sketch', 'pop', 'art', 'pixel', 'watercolor', 'neon', 'oil', 'painting', 'black', 'white', 'photo', 'glasses', 'beard']) {
      expect(vocab.has(w)).toBe(true);
    }
  });

  it('can caption a personalization subject instead of the description', () => {
    expect(caption(base, 'watercolor', { subject: 'a sks face' })).toBe('a watercolor painting of a sks face');
    expect(describeSubject(base)).toBe(caption(base, 'photo').slice('a photo of '.length));
  });
});
