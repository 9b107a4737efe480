// How well the scorers work on real renders of held-out identities (never seen in fitting):
// without these numbers an evaluation table built on them would mean nothing.
import { identitySeed, photoSeed, renderPhoto, renderStyled, sampleIdentity, STYLES } from '../dataset';
import { cosine } from './features';
import type { Scorers } from './scorers';

export interface ScorerAccuracy {
  identities: number;
  /** query photo (another pose/light) → nearest reference photo among all identities is its own */
  identityTop1: number;
  /** same for a query rendered in a random non-photo style against photo references */
  identityTop1Styled: number;
  /** P(cos(same identity) > cos(different identities)) over all photo-query/reference pairs */
  identityAuc: number;
  sameMean: number;
  differentMean: number;
  /** argmax style = rendered style, over every style of each identity */
  styleAccuracy: number;
  /** mean probability of the rendered style */
  styleProbability: number;
}

export function measureAccuracy(scorers: Scorers, opts: { ids: number; worldSeed: number }): ScorerAccuracy {
  const refs: Float32Array[] = [];
  const queries: Float32Array[] = [];
  const styledQueries: Float32Array[] = [];
  let styleHits = 0, styleProb = 0, styleCount = 0;
  for (let i = 0; i < opts.ids; i++) {
    const seed = identitySeed('heldout', i, opts.worldSeed);
    const id = sampleIdentity(seed);
    refs.push(scorers.identity(renderPhoto(id, photoSeed(seed, 0))));
    queries.push(scorers.identity(renderPhoto(id, photoSeed(seed, 1))));
    STYLES.forEach((style, s) => {
      const img = renderStyled(id, style, photoSeed(seed, 2 + s));
      const p = scorers.styleProbabilities(img);
      let best = 0;
      for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
      styleHits += best === s ? 1 : 0;
      styleProb += p[s];
      styleCount++;
      if (s === 1 + (i % (STYLES.length - 1))) styledQueries.push(scorers.identity(img));
    });
  }
  const top1 = (qs: Float32Array[]) => {
    let hits = 0;
    qs.forEach((q, i) => {
      let best = -1, bestSim = -Infinity;
      refs.forEach((r, j) => { const s = cosine(q, r); if (s > bestSim) { bestSim = s; best = j; } });
      hits += best === i ? 1 : 0;
    });
    return hits / qs.length;
  };
  const same: number[] = [];
  const different: number[] = [];
  queries.forEach((q, i) => refs.forEach((r, j) => (i === j ? same : different).push(cosine(q, r))));
  let wins = 0;
  for (const s of same) for (const d of different) wins += s > d ? 1 : s === d ? 0.5 : 0;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    identities: opts.ids,
    identityTop1: top1(queries),
    identityTop1Styled: top1(styledQueries),
    identityAuc: wins / (same.length * different.length),
    sameMean: mean(same),
    differentMean: mean(different),
    styleAccuracy: styleHits / styleCount,
    styleProbability: styleProb / styleCount,
  };
}
