// SD's latent scale (0.18215) is 1 / std of its VAE's latents, measured once on training images,
// so the UNet sees unit-variance latents and the noise schedule's signal-to-noise ratios mean
// what they were designed to mean. A VAE trained here has its own spread, so its scale is
// measured the same way: the std of the encoder's means over records spread across the shard.
import { encodeModel } from '../onnx';
import type { PackContents } from '../packs/types';
import { IO } from '../packs/graphIO';
import type { Runtime } from '../runtime/types';
import type { Shard } from '../dataset/shard';
import { recordPixels } from './data';
import { packModelOf, readPackGraph } from './packGraphs';

export const LATENT_SCALE_RECORDS = 256;

/** 1 / std of the VAE means of up to `count` evenly spaced records, to 4 significant digits. */
export async function measureLatentScale(runtime: Runtime, pack: PackContents, shard: Shard, count = LATENT_SCALE_RECORDS): Promise<number> {
  const { latent: L, image } = pack.manifest;
  const latentSize = L.channels * L.height * L.width;
  const records = shard.index.records.length;
  const n = Math.min(count, records);
  const session = await runtime.createSession({ name: 'vae encoder (latent scale)', model: encodeModel(readPackGraph(pack, packModelOf(pack.manifest, 'vaeEncoder'))) });
  try {
    let sum = 0, sumSq = 0;
    for (let k = 0; k < n; k++) {
      const r = Math.floor((k * records) / n);
      const out = await session.run({ [IO.vaeEncoder.input]: { type: 'float32', dims: [1, 3, image.height, image.width], data: recordPixels(shard, r) } }, [IO.vaeEncoder.output]);
      const moments = out[IO.vaeEncoder.output].data as Float32Array;
      for (let i = 0; i < latentSize; i++) { sum += moments[i]; sumSq += moments[i] ** 2; }
    }
    const values = n * latentSize;
    const std = Math.sqrt(Math.max(0, sumSq / values - (sum / values) ** 2));
    if (!(std > 0)) throw new Error('the VAE encoder gives constant latents on this shard: cannot measure a latent scale');
    return Number((1 / std).toPrecision(4));
  } finally {
    await session.release();
  }
}
