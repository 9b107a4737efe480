// How well a pack's VAE keeps an image: encode (the posterior mean, as the pipeline does) →
// decode, scored as PSNR over records of a shard. Images are in [-1, 1], so the peak-to-peak
// range is 2 and PSNR = 10·log10(4 / MSE). This is issue 15's first base-model target (≥ 25 dB
// on held-out photos) and the measure the latent-scale choice was made with.
import { encodeModel } from '../onnx';
import { withFixedDims } from '../autodiff';
import { IO } from '../packs/graphIO';
import type { PackContents } from '../packs/types';
import type { Runtime } from '../runtime/types';
import type { Shard } from '../dataset/shard';
import { packModelOf, readPackGraph, setInitializers } from './packGraphs';
import { recordPixels } from './data';

export interface ReconstructionScore {
  records: number;
  /** mean over records of the per-image MSE in [-1, 1] units */
  mse: number;
  /** mean over records of the per-image PSNR in dB (an identical image counts as 99 dB) */
  psnr: number;
  /** PSNR of the pooled MSE, 10·log10(4 / mse) */
  psnrOfMeanMse: number;
  /** the same per style of the records (issue 15's target is on photos; textures cost more) */
  byStyle: Record<string, { records: number; mse: number; psnr: number; identity?: number }>;
  /** mean `identity(photo, reconstruction)` when asked (issue 15: the embedder's cosine ≥ 0.9) */
  identity?: number;
}

/** Scores a photo against its reconstruction, both [1, 3, S, S] in [-1, 1] (e.g. an identity embedder's cosine). */
export type PairScore = (photo: Float32Array, reconstruction: Float32Array) => Promise<number>;

const PSNR_CAP = 99;

export function psnrDb(mse: number): number {
  if (!(mse >= 0)) throw new Error(`MSE must be a non-negative number, got ${mse}`);
  return mse === 0 ? PSNR_CAP : Math.min(PSNR_CAP, 10 * Math.log10(4 / mse));
}

/** Records 0, step, 2·step, … of the shard (`count` of them, spread over all identities and styles). */
export function spreadRecords(total: number, count: number): number[] {
  const n = Math.min(total, count);
  return Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
}

/**
 * `weights`: trained values keyed `<graph>/<initializer>` as a `train base` checkpoint holds
 * them (vaeEncoder/…, vaeDecoder/…), replacing the pack's: a curve is measured from a running
 * stage's checkpoints without waiting for its pack.
 */
export async function measureReconstruction(
  runtime: Runtime,
  pack: PackContents,
  shard: Shard,
  records: number[],
  weights: Record<string, Float32Array> = {},
  identity?: PairScore,
): Promise<ReconstructionScore> {
  const { manifest } = pack;
  const L = manifest.latent;
  const n = L.channels * L.height * L.width;
  const graph = (key: 'vaeEncoder' | 'vaeDecoder') => {
    const model = readPackGraph(pack, packModelOf(manifest, key));
    const own = Object.fromEntries(Object.entries(weights).filter(([k]) => k.startsWith(`${key}/`)).map(([k, v]) => [k.slice(key.length + 1), v]));
    setInitializers(model, own, key);
    return encodeModel(withFixedDims(model, { batch: 1 }));
  };
  const enc = await runtime.createSession({ name: 'vae encoder', model: graph('vaeEncoder') });
  const dec = await runtime.createSession({ name: 'vae decoder', model: graph('vaeDecoder') });
  try {
    let mseSum = 0, psnrSum = 0, idSum = 0;
    const byStyle: ReconstructionScore['byStyle'] = {};
    const dims = [1, 3, manifest.image.height, manifest.image.width];
    for (const r of records) {
      const x = recordPixels(shard, r);
      const moments = (await enc.run({ [IO.vaeEncoder.input]: { type: 'float32', dims, data: x } }, [IO.vaeEncoder.output]))[IO.vaeEncoder.output].data as Float32Array;
      const mean = moments.slice(0, n);
      const y = (await dec.run({ [IO.vaeDecoder.input]: { type: 'float32', dims: [1, L.channels, L.height, L.width], data: mean } }, [IO.vaeDecoder.output]))[IO.vaeDecoder.output].data as Float32Array;
      let se = 0;
      // the pipeline clamps decoded pixels to [-1, 1] before showing them
      for (let i = 0; i < x.length; i++) {
        y[i] = Math.max(-1, Math.min(1, y[i]));
        se += (y[i] - x[i]) ** 2;
      }
      const id = identity ? await identity(x, y) : undefined;
      if (id !== undefined) idSum += id;
      const mse = se / x.length;
      mseSum += mse;
      psnrSum += psnrDb(mse);
      const st = (byStyle[shard.index.records[r].style] ??= { records: 0, mse: 0, psnr: 0 });
      st.records++;
      st.mse += mse;
      st.psnr += psnrDb(mse);
      if (id !== undefined) st.identity = (st.identity ?? 0) + id;
    }
    for (const st of Object.values(byStyle)) {
      st.mse /= st.records; st.psnr /= st.records;
      if (st.identity !== undefined) st.identity /= st.records;
    }
    const mse = mseSum / records.length;
    return { records: records.length, mse, psnr: psnrSum / records.length, psnrOfMeanMse: psnrDb(mse), byStyle, ...(identity ? { identity: idSum / records.length } : {}) };
  } finally {
    await enc.release();
    await dec.release();
  }
}
