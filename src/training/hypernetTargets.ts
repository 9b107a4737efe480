// θ* as the hypernetwork sees them (its padded rows), for `train hypernet` and for issue 15's
// hypernetwork target: on held-out people, the weight-space error of the
// hypernetwork's prediction against their θ* must be at most half the error of always predicting
// the mean θ* of the training identities. Both errors are the training loss's weight-space term,
// mean (θ̂ − θ*)² over each layer's own (unpadded) rows, averaged over identities; the prediction
// is made from each of the identity's photos (as `train hypernet` sees them) and averaged.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../onnx';
import { HYPERNET_IO } from '../packs/graphIO';
import type { PackContents } from '../packs/types';
import type { Runtime } from '../runtime/types';
import type { Shard } from '../dataset/shard';
import { shardImage } from '../dataset/shard';
import { resizeSquare, toPixelValues } from '../face/crop';
import { readLidbFile } from '../lidb/file';
import { identityPhotoRecords, lidbTargetName } from './lidbStage';
import type { Lidb } from '../lidb/lidb';
import { packModelOf, readPackGraph } from './packGraphs';

export interface Rows { down: Float32Array; up: Float32Array }

/** θ̂ as the graph's padded rows → per-layer LiDB rows: the padded layout of a rank-1 LiDB. */
export function lidbToRows(lidb: Lidb, layerNames: readonly string[], aMax: number, bMax: number): Rows {
  if (lidb.rank !== 1) throw new Error(`θ* must be rank 1 (the hypernetwork's rank), got rank ${lidb.rank}`);
  const down = new Float32Array(layerNames.length * aMax), up = new Float32Array(layerNames.length * bMax);
  layerNames.forEach((name, i) => {
    const w = lidb.layers.get(name);
    if (!w) throw new Error(`the LiDB has no layer ${name}`);
    down.set(w.dTrain, i * aMax);
    up.set(w.uTrain, i * bMax);
  });
  return { down, up };
}

export interface TargetItem { identity: number; records: number[]; target: Rows }

/** The shard's identities that have a θ* file in `dir` (and photos), with their targets in the hypernet's padded rows. */
export function readTargets(pack: PackContents, shard: Shard, dir: string): TargetItem[] {
  const { manifest } = pack;
  if (!manifest.lidb) throw new Error(`pack "${manifest.id}" has no LiDB aux bases`);
  const { aMax, bMax } = manifest.lidb;
  const layers = manifest.lora.layers;
  const expected = { packId: manifest.id, auxSha256: manifest.lidb.auxSha256, layers };
  const items: TargetItem[] = [];
  shard.index.identities.forEach((id, k) => {
    const path = join(dir, lidbTargetName(id.index));
    if (!existsSync(path)) return;
    const records = identityPhotoRecords(shard, k);
    if (records.length === 0) return;
    const { lidb } = readLidbFile(new Uint8Array(readFileSync(path)), expected);
    items.push({ identity: id.index, records, target: lidbToRows(lidb, layers.map((l) => l.name), aMax, bMax) });
  });
  return items;
}

/** Every θ* file in `dir` (any identity), in padded rows: what the mean-θ* predictor averages. */
export function readAllTargets(pack: PackContents, dir: string): Rows[] {
  const { manifest } = pack;
  if (!manifest.lidb) throw new Error(`pack "${manifest.id}" has no LiDB aux bases`);
  const { aMax, bMax } = manifest.lidb;
  const layers = manifest.lora.layers;
  const expected = { packId: manifest.id, auxSha256: manifest.lidb.auxSha256, layers };
  return readdirSync(dir).filter((n) => /^id\d+\.lidb\.safetensors$/.test(n)).sort().map((n) => {
    const { lidb } = readLidbFile(new Uint8Array(readFileSync(join(dir, n))), expected);
    return lidbToRows(lidb, layers.map((l) => l.name), aMax, bMax);
  });
}

export function meanRows(rows: readonly Rows[]): Rows {
  if (rows.length === 0) throw new Error('no θ* to average');
  const down = new Float32Array(rows[0].down.length), up = new Float32Array(rows[0].up.length);
  for (const r of rows) {
    for (let i = 0; i < down.length; i++) down[i] += r.down[i] / rows.length;
    for (let i = 0; i < up.length; i++) up[i] += r.up[i] / rows.length;
  }
  return { down, up };
}

/** mean squared difference over the real (unpadded) entries: padding is zero on both sides */
export function weightSpaceError(a: Rows, b: Rows, validCount: number): number {
  let s = 0;
  for (const [x, y] of [[a.down, b.down], [a.up, b.up]] as const) for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return s / validCount;
}

export interface HypernetErrorReport {
  identities: number;
  hypernet: number;
  meanTheta: number;
  /** hypernet / meanTheta: issue 15's target is ≤ 0.5 */
  ratio: number;
  perIdentity: { identity: number; hypernet: number; meanTheta: number }[];
}

export async function measureHypernetError(runtime: Runtime, pack: PackContents, items: readonly TargetItem[], meanTheta: Rows, shard: Shard): Promise<HypernetErrorReport> {
  const { manifest } = pack;
  const h = manifest.hypernet;
  if (!h) throw new Error(`pack "${manifest.id}" has no hypernetwork`);
  if (items.length === 0) throw new Error('no identity with a θ* to compare against');
  const validCount = manifest.lora.layers.reduce((s, l) => s + l.a! + l.b!, 0);
  const session = await runtime.createSession({ name: 'hypernet', model: encodeModel(readPackGraph(pack, packModelOf(manifest, 'hypernet'))) });
  try {
    const perIdentity: HypernetErrorReport['perIdentity'] = [];
    for (const item of items) {
      let e = 0;
      for (const r of item.records) {
        const pixels = toPixelValues(resizeSquare(shardImage(shard, r), h.imageSize), h.normalize);
        const out = await session.run({ [HYPERNET_IO.input]: { type: 'float32', dims: [1, 3, h.imageSize, h.imageSize], data: pixels } }, [HYPERNET_IO.down, HYPERNET_IO.up]);
        e += weightSpaceError({ down: out[HYPERNET_IO.down].data as Float32Array, up: out[HYPERNET_IO.up].data as Float32Array }, item.target, validCount);
      }
      perIdentity.push({ identity: item.identity, hypernet: e / item.records.length, meanTheta: weightSpaceError(meanTheta, item.target, validCount) });
    }
    const avg = (k: 'hypernet' | 'meanTheta') => perIdentity.reduce((s, p) => s + p[k], 0) / perIdentity.length;
    const hyper = avg('hypernet'), mean = avg('meanTheta');
    return { identities: items.length, hypernet: hyper, meanTheta: mean, ratio: hyper / mean, perIdentity };
  } finally {
    await session.release();
  }
}
