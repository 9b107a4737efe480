// A LiDB seen as the optimizer's parameters: `<layer>.down` = D_train and `<layer>.up` = U_train,
// the very arrays of the LiDB, so Adam's in-place updates are the LiDB's new weights.
import type { Lidb, LidbGrad } from '../lidb/lidb';

export function lidbParams(lidb: Lidb): Record<string, Float32Array> {
  const params: Record<string, Float32Array> = {};
  for (const [name, w] of lidb.layers) {
    params[`${name}.down`] = w.dTrain;
    params[`${name}.up`] = w.uTrain;
  }
  return params;
}

/** LiDB gradients keyed like lidbParams; every layer of `lidb` must have one. */
export function lidbGradRecord(lidb: Lidb, grads: ReadonlyMap<string, LidbGrad>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const name of lidb.layers.keys()) {
    const g = grads.get(name);
    if (!g) throw new Error(`no gradient reached LiDB layer ${name}`);
    out[`${name}.down`] = g.dTrain;
    out[`${name}.up`] = g.uTrain;
  }
  return out;
}

export function cloneLidb(lidb: Lidb): Lidb {
  const layers = new Map([...lidb.layers].map(([name, w]) => [name, { ...w, dTrain: w.dTrain.slice(), uTrain: w.uTrain.slice() }]));
  return { rank: lidb.rank, layers };
}

/** The first non-finite value among `arrays`, as "name[index] = value", or undefined when all are finite. */
export function firstNonFinite(arrays: Record<string, ArrayLike<number>>): string | undefined {
  for (const [name, a] of Object.entries(arrays)) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return `${name}[${i}] = ${a[i]}`;
  }
  return undefined;
}
