// `hyperbooth eval check-scorers`: how well the evaluation's scorers work on held-out people of a
// world the embedder never saw. Every person is drawn in all 8 styles twice, each image with its
// own pose, light and background; identity is checked across styles only (a query in one style
// against the other 7 styles' images), so colour or layout shared within a style cannot help.
import { identitySeed, photoSeed, renderStyled, sampleIdentity, STYLES, type Split } from '../dataset';
import type { RgbaImage } from '../face/image';
import type { IdentityEmbedder } from './embedder/embedder';
import { cosine } from './features';

export interface ScorerCheck {
  identity: {
    /** P(cos(same person, other style) > cos(different people, other style)) */
    auc: number;
    /** query in style q → nearest of `people` gallery images in style g ≠ q is the same person, mean over all 56 (q, g) */
    top1: number;
    sameMean: number;
    differentMean: number;
  };
  style: {
    /** argmax style = rendered style, over every image */
    accuracy: number;
    /** accuracy of each style, in STYLES order */
    perStyle: Record<string, number>;
  };
  people: number;
  seed: number;
  split: Split;
}

export interface CheckOptions {
  seed: number;
  people: number;
  size?: number;
  /** whose people: 'heldout' (the default, the scorer's verdict) or 'val' (for choosing training settings) */
  split?: Split;
}

/** Probability of each of STYLES for an image (the style scorer under test). */
export type StyleScorer = (img: RgbaImage) => Float32Array;

/** Mann-Whitney AUC of positives over negatives (ties count ½), by one sort. */
export function aucOf(positives: readonly number[], negatives: readonly number[]): number {
  if (!positives.length || !negatives.length) throw new Error('AUC needs positives and negatives');
  const all = [...positives.map((v) => [v, 1] as const), ...negatives.map((v) => [v, 0] as const)].sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const midRank = (i + j + 1) / 2; // ranks are 1-based
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSum += midRank;
    i = j;
  }
  const p = positives.length;
  return (rankSum - (p * (p + 1)) / 2) / (p * negatives.length);
}

export async function checkScorers(embedder: IdentityEmbedder, style: StyleScorer, o: CheckOptions): Promise<ScorerCheck> {
  if (!Number.isInteger(o.people) || o.people < 2) throw new Error(`--people must be an integer ≥ 2, got ${o.people}`);
  const size = o.size ?? embedder.imageSize;
  const S = STYLES.length;
  // views[v][s][i]: person i in style s, view v ∈ {query, gallery}, each with its own photo seed
  const views: RgbaImage[][][] = [0, 1].map((v) => STYLES.map((st, s) => Array.from({ length: o.people }, (_, i) => {
    const idSeed = identitySeed(o.split ?? 'heldout', i, o.seed);
    return renderStyled(sampleIdentity(idSeed), st, photoSeed(idSeed, 1 + v * S + s), size);
  })));
  const emb = await Promise.all(views.map((byStyle) => Promise.all(byStyle.map((imgs) => embedder.embed(imgs)))));
  const same: number[] = [], different: number[] = [];
  let hits = 0, queries = 0;
  for (let q = 0; q < S; q++) {
    for (let g = 0; g < S; g++) {
      if (g === q) continue;
      for (let i = 0; i < o.people; i++) {
        let best = -1, bestSim = -Infinity;
        for (let j = 0; j < o.people; j++) {
          const c = cosine(emb[0][q][i], emb[1][g][j]);
          (i === j ? same : different).push(c);
          if (c > bestSim) { bestSim = c; best = j; }
        }
        hits += best === i ? 1 : 0;
        queries++;
      }
    }
  }
  const perStyle: Record<string, number> = {};
  let styleHits = 0;
  STYLES.forEach((st, s) => {
    let h = 0;
    for (const v of views) for (const img of v[s]) {
      const p = style(img);
      let best = 0;
      for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
      h += best === s ? 1 : 0;
    }
    perStyle[st] = h / (2 * o.people);
    styleHits += h;
  });
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    identity: { auc: aucOf(same, different), top1: hits / queries, sameMean: mean(same), differentMean: mean(different) },
    style: { accuracy: styleHits / (2 * S * o.people), perStyle },
    people: o.people,
    seed: o.seed,
    split: o.split ?? 'heldout',
  };
}
