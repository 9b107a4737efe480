// How the fast fine-tune relaxes the hypernetwork's rank-1 prediction before training, as the
// optimizer's parameters and the slots they put into the model.
// - 'full-space' (HyperDreamBooth §3.3, the default): the predicted ΔW stays merged, and a rank-r
//   residual LoRA on the same layers trains in the full weight space.
// - 'aux-subspace': the LiDB itself is raised to rank r and trained, so every update stays inside
//   the 100×50 aux subspace of each layer; the result is still a ~100 KB LiDB. Rank 1 here is the
//   paper's "k = 1" ablation (no relaxation).
import type { AuxBases } from '../lidb/aux';
import { allSlotGradsToLidbGrads, lidbToSlots, rankRelax, type Lidb } from '../lidb/lidb';
import { cloneResidual, initResidual, residualGrad, withResidual, type PersonalWeights } from '../lidb/personal';
import { LidbRng } from '../lidb/random';
import type { LoraSlots } from '../lidb/slots';
import type { LoraLayer } from '../packs/manifest';
import { cloneLidb, lidbGradRecord, lidbParams } from './lidbParams';
import type { SlotGrad } from './trainStep';

export const RELAXATIONS = ['full-space', 'aux-subspace'] as const;
export type Relaxation = (typeof RELAXATIONS)[number];
export const DEFAULT_RELAXATION: Relaxation = 'full-space';

/** The fine-tune's trainable state. `params` are the very arrays Adam updates in place. */
export interface RelaxedWeights {
  readonly params: Record<string, Float32Array>;
  /** the slots the current params put into the model */
  slots(): LoraSlots;
  /** ∂loss/∂params from ∂loss/∂slots, keyed like params */
  paramGrads(slotGrads: ReadonlyMap<string, SlotGrad>): Record<string, Float32Array>;
  /** a copy of the current weights */
  snapshot(): PersonalWeights;
}

export interface RelaxOptions {
  relaxation: Relaxation;
  rank: number;
  seed: number;
  aux: AuxBases;
  layers: readonly LoraLayer[];
}

export function relax(prediction: Lidb, opts: RelaxOptions): RelaxedWeights {
  return opts.relaxation === 'full-space' ? fullSpace(prediction, opts) : auxSubspace(prediction, opts);
}

function auxSubspace(prediction: Lidb, { rank, seed, aux }: RelaxOptions): RelaxedWeights {
  const lidb = rankRelax(cloneLidb(prediction), rank, new LidbRng(seed, 'rank_relax'));
  return {
    params: lidbParams(lidb),
    slots: () => lidbToSlots(lidb, aux),
    paramGrads: (g) => lidbGradRecord(lidb, allSlotGradsToLidbGrads(g, aux, lidb.rank)),
    snapshot: () => ({ lidb: cloneLidb(lidb) }),
  };
}

function fullSpace(prediction: Lidb, { rank, seed, aux, layers }: RelaxOptions): RelaxedWeights {
  const lidb = cloneLidb(prediction);
  // the prediction is fixed: its slots are computed once
  const base = lidbToSlots(lidb, aux);
  const residual = initResidual(layers, rank, new LidbRng(seed, 'residual'));
  const params: Record<string, Float32Array> = {};
  for (const [name, r] of residual.layers) {
    params[`${name}.residual_down`] = r.down;
    params[`${name}.residual_up`] = r.up;
  }
  return {
    params,
    slots: () => withResidual(base, residual, layers),
    paramGrads: (g) => {
      const out: Record<string, Float32Array> = {};
      for (const l of layers) {
        const slot = g.get(l.name);
        if (!slot) throw new Error(`no gradient reached layer ${l.name}`);
        const r = residualGrad(slot, l.nIn, l.nOut, lidb.rank, rank);
        out[`${l.name}.residual_down`] = r.down;
        out[`${l.name}.residual_up`] = r.up;
      }
      return out;
    },
    snapshot: () => ({ lidb: cloneLidb(lidb), residual: cloneResidual(residual) }),
  };
}
