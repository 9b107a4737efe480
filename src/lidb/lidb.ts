// The LiDB parametrization (HyperDreamBooth): per layer ΔW = D·U with D = D_aux·D_train and
// U = U_train·U_aux; only D_train [a, r] and U_train [r, b] are personal.
import type { AuxBases, AuxBasis } from './aux';
import { auxDims, type LidbLayerSpec } from './layers';
import { matmul, matmulTransA, matmulTransB } from './matmul';
import type { NormalRng } from './random';
import type { LoraSlot, LoraSlots } from './slots';

export interface LidbLayerWeights {
  a: number;
  b: number;
  /** D_train [a, rank] row-major */
  dTrain: Float32Array;
  /** U_train [rank, b] row-major */
  uTrain: Float32Array;
}

export interface Lidb {
  rank: number;
  /** in the pack's layer order */
  layers: Map<string, LidbLayerWeights>;
}

/**
 * A fresh LiDB as the public re-implementations start one: D_train xavier-normal (std
 * √(2/(a+r)), the fan-in/fan-out of a [a → r] map), U_train zero, so ΔW = 0 but both factors
 * receive gradient after the first step.
 */
export function initLidb(layers: readonly LidbLayerSpec[], rank: number, rng: NormalRng): Lidb {
  checkRank(rank);
  const out: Lidb = { rank, layers: new Map() };
  for (const l of layers) {
    const { a, b } = auxDims(l);
    const std = Math.sqrt(2 / (a + rank));
    const dTrain = new Float32Array(a * rank);
    for (let i = 0; i < dTrain.length; i++) dTrain[i] = rng.normal() * std;
    out.layers.set(l.name, { a, b, dTrain, uTrain: new Float32Array(rank * b) });
  }
  return out;
}

/** A zero LiDB (ΔW = 0 everywhere). */
export function zeroLidb(layers: readonly LidbLayerSpec[], rank: number): Lidb {
  checkRank(rank);
  const out: Lidb = { rank, layers: new Map() };
  for (const l of layers) {
    const { a, b } = auxDims(l);
    out.layers.set(l.name, { a, b, dTrain: new Float32Array(a * rank), uTrain: new Float32Array(rank * b) });
  }
  return out;
}

/**
 * The rank-1 LiDB a hypernetwork predicts: `down` [L, aMax] and `up` [L, bMax] in layer order,
 * each row zero-padded past the layer's own a or b.
 */
export function lidbFromRows(layers: readonly LidbLayerSpec[], down: Float32Array, up: Float32Array, aMax: number, bMax: number): Lidb {
  if (down.length !== layers.length * aMax) throw new RangeError(`down has ${down.length} values, expected ${layers.length} × ${aMax}`);
  if (up.length !== layers.length * bMax) throw new RangeError(`up has ${up.length} values, expected ${layers.length} × ${bMax}`);
  const out: Lidb = { rank: 1, layers: new Map() };
  layers.forEach((l, i) => {
    const { a, b } = auxDims(l);
    if (a > aMax || b > bMax) throw new RangeError(`layer ${l.name} needs a=${a}, b=${b}, rows hold ${aMax}, ${bMax}`);
    out.layers.set(l.name, {
      a, b,
      dTrain: down.slice(i * aMax, i * aMax + a),
      uTrain: up.slice(i * bMax, i * bMax + b),
    });
  });
  return out;
}

function basisFor(aux: AuxBases, name: string, w: LidbLayerWeights): AuxBasis {
  const x = aux.bases.get(name);
  if (!x) throw new Error(`the aux bases have no layer ${name}`);
  if (x.a !== w.a || x.b !== w.b) throw new Error(`layer ${name}: LiDB has a=${w.a}, b=${w.b}, aux bases a=${x.a}, b=${x.b}`);
  return x;
}

/** One layer's slot: down = D_aux·D_train [nIn, r], up = U_train·U_aux [r, nOut]. */
export function layerToSlot(basis: AuxBasis, w: LidbLayerWeights, rank: number): LoraSlot {
  return {
    rank,
    down: matmul(basis.dAux, w.dTrain, basis.nIn, basis.a, rank),
    up: matmul(w.uTrain, basis.uAux, rank, basis.b, basis.nOut),
  };
}

export function lidbToSlots(lidb: Lidb, aux: AuxBases): LoraSlots {
  const slots: LoraSlots = new Map();
  for (const [name, w] of lidb.layers) slots.set(name, layerToSlot(basisFor(aux, name, w), w, lidb.rank));
  return slots;
}

export interface LidbGrad {
  /** ∂L/∂D_train [a, r] */
  dTrain: Float32Array;
  /** ∂L/∂U_train [r, b] */
  uTrain: Float32Array;
}

/**
 * Chain rule through the fixed bases: down = D_aux·D_train ⇒ ∂L/∂D_train = D_auxᵀ·∂L/∂down;
 * up = U_train·U_aux ⇒ ∂L/∂U_train = ∂L/∂up·U_auxᵀ.
 */
export function slotGradsToLidbGrads(basis: AuxBasis, gradDown: Float32Array, gradUp: Float32Array, rank: number): LidbGrad {
  return {
    dTrain: matmulTransA(basis.dAux, gradDown, basis.nIn, basis.a, rank),
    uTrain: matmulTransB(gradUp, basis.uAux, rank, basis.nOut, basis.b),
  };
}

/** slotGradsToLidbGrads for every layer that has a gradient. */
export function allSlotGradsToLidbGrads(
  grads: ReadonlyMap<string, { down: Float32Array; up: Float32Array }>,
  aux: AuxBases,
  rank: number,
): Map<string, LidbGrad> {
  const out = new Map<string, LidbGrad>();
  for (const [name, g] of grads) {
    const x = aux.bases.get(name);
    if (!x) throw new Error(`the aux bases have no layer ${name}`);
    out.set(name, slotGradsToLidbGrads(x, g.down, g.up, rank));
  }
  return out;
}

/**
 * Default spread of the new D_train components in rankRelax. Whatever it is, ΔW is unchanged at
 * step 0 (the new U_train rows are zero). It must not be zero: with both new factors zero their
 * gradients are zero (∂/∂U_new ∝ D_new, ∂/∂D_new ∝ U_new) and they would never train. Its size
 * is that of one Adam step at the learning rates used for LoRA fine-tunes (≈1e-3): U_new then
 * grows by ≈ lr per step and D_new soon follows, so after a few steps the new components are made
 * of learned updates rather than of the initial noise, and the early steps refine the
 * prediction instead of adding a random rank-(r'−1) term. The gradient reaching U_new,
 * D_newᵀ·(D_auxᵀ·G·U_auxᵀ) ≈ 1e-3·√a·|G|, stays far above Adam's ε = 1e-8 for any
 * slot gradient |G| ≳ 1e-6.
 */
export const RELAX_STD = 1e-3;

/**
 * Raises the rank from lidb.rank to `rank`: the first lidb.rank components are the given ones
 * (the hypernetwork's prediction), the new D_train columns are N(0, std²), the new U_train rows
 * zero, so D·U — and every slot product — is exactly what it was.
 */
export function rankRelax(lidb: Lidb, rank: number, rng: NormalRng, std = RELAX_STD): Lidb {
  checkRank(rank);
  const r0 = lidb.rank;
  if (rank < r0) throw new RangeError(`cannot relax rank ${r0} down to ${rank}`);
  const out: Lidb = { rank, layers: new Map() };
  for (const [name, w] of lidb.layers) {
    const dTrain = new Float32Array(w.a * rank);
    for (let i = 0; i < w.a; i++) {
      for (let j = 0; j < rank; j++) dTrain[i * rank + j] = j < r0 ? w.dTrain[i * r0 + j] : rng.normal() * std;
    }
    const uTrain = new Float32Array(rank * w.b);
    uTrain.set(w.uTrain);
    out.layers.set(name, { a: w.a, b: w.b, dTrain, uTrain });
  }
  return out;
}

/** The number of personal values, Σ (a + b)·r. */
export function lidbSize(lidb: Lidb): number {
  let n = 0;
  for (const w of lidb.layers.values()) n += w.dTrain.length + w.uTrain.length;
  return n;
}

function checkRank(rank: number): void {
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`rank ${rank} must be a positive integer`);
}
