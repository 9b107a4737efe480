// A person's weights as HyperDreamBooth's rank-relaxed fine-tune leaves them: the LiDB (what the
// hypernetwork predicts, inside the frozen aux bases) plus, when the relaxation is the paper's,
// a residual LoRA of rank r trained in the full weight space of the same layers. Both reach the
// model through the same LoRA slots: the slot's rank is the LiDB's plus the residual's, down and
// up concatenated, so one graph serves every form and the product is exactly the sum
// D_aux·D_train·U_train·U_aux + A·B.
import type { LoraLayer } from '../packs/manifest';
import type { AuxBases } from './aux';
import { lidbToSlots, type Lidb } from './lidb';
import type { NormalRng } from './random';
import type { LoraSlot, LoraSlots } from './slots';

export interface ResidualLayer {
  /** A [nIn, rank] row-major */
  down: Float32Array;
  /** B [rank, nOut] row-major */
  up: Float32Array;
}

export interface Residual {
  rank: number;
  /** in the pack's layer order */
  layers: Map<string, ResidualLayer>;
}

export interface PersonalWeights {
  lidb: Lidb;
  /** the full-space residual of the paper's relaxation; absent for a plain LiDB */
  residual?: Residual;
}

/**
 * A residual that adds nothing yet: A ~ N(0, 1/nIn) so x·A keeps x's scale, B = 0 so A·B = 0 at
 * step 0 (the paper's "starts from the prediction"). A must not be zero too: with both factors
 * zero neither gets a gradient.
 */
export function initResidual(layers: readonly LoraLayer[], rank: number, rng: NormalRng): Residual {
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`residual rank ${rank} must be a positive integer`);
  const out: Residual = { rank, layers: new Map() };
  for (const l of layers) {
    const std = 1 / Math.sqrt(l.nIn);
    const down = new Float32Array(l.nIn * rank);
    for (let i = 0; i < down.length; i++) down[i] = rng.normal() * std;
    out.layers.set(l.name, { down, up: new Float32Array(rank * l.nOut) });
  }
  return out;
}

/** Two slots of one layer side by side: [down₁ | down₂] and [up₁ ; up₂], whose product is the sum. */
export function concatSlots(first: LoraSlot, second: LoraSlot, nIn: number): LoraSlot {
  const rank = first.rank + second.rank;
  const down = new Float32Array(nIn * rank);
  for (let i = 0; i < nIn; i++) {
    down.set(first.down.subarray(i * first.rank, (i + 1) * first.rank), i * rank);
    down.set(second.down.subarray(i * second.rank, (i + 1) * second.rank), i * rank + first.rank);
  }
  const up = new Float32Array(rank * (first.up.length / first.rank));
  up.set(first.up);
  up.set(second.up, first.up.length);
  return { rank, down, up };
}

/** The residual's share of a concatenated slot's gradient: columns and rows past `offset`. */
export function residualGrad(grad: { down: Float32Array; up: Float32Array }, nIn: number, nOut: number, offset: number, rank: number): ResidualLayer {
  const total = offset + rank;
  if (grad.down.length !== nIn * total || grad.up.length !== total * nOut) {
    throw new RangeError(`slot gradient has ${grad.down.length} + ${grad.up.length} values, expected ${nIn}×${total} + ${total}×${nOut}`);
  }
  const down = new Float32Array(nIn * rank);
  for (let i = 0; i < nIn; i++) down.set(grad.down.subarray(i * total + offset, i * total + total), i * rank);
  return { down, up: grad.up.slice(offset * nOut, total * nOut) };
}

/** The slots these weights put into the model: the LiDB's, and with a residual, both concatenated. */
export function personalSlots(weights: PersonalWeights, aux: AuxBases, layers: readonly LoraLayer[]): LoraSlots {
  const lidbSlots = lidbToSlots(weights.lidb, aux);
  if (!weights.residual) return lidbSlots;
  return withResidual(lidbSlots, weights.residual, layers);
}

/** `base` slots with the residual appended to every layer that has one. */
export function withResidual(base: LoraSlots, residual: Residual, layers: readonly LoraLayer[]): LoraSlots {
  const out: LoraSlots = new Map();
  for (const l of layers) {
    const b = base.get(l.name);
    const r = residual.layers.get(l.name);
    if (!b || !r) throw new Error(`layer ${l.name} has ${b ? 'no residual' : 'no LiDB slot'}`);
    out.set(l.name, concatSlots(b, { rank: residual.rank, down: r.down, up: r.up }, l.nIn));
  }
  return out;
}

/** Number of values in the residual, Σ (nIn + nOut)·r. */
export function residualSize(residual: Residual): number {
  let n = 0;
  for (const r of residual.layers.values()) n += r.down.length + r.up.length;
  return n;
}

export function cloneResidual(residual: Residual): Residual {
  return { rank: residual.rank, layers: new Map([...residual.layers].map(([n, r]) => [n, { down: r.down.slice(), up: r.up.slice() }])) };
}
