// Shard records as model inputs: pixels NHWC uint8 → NCHW float in [-1, 1] (the VAE's range),
// captions → token ids of the pack's tokenizer (src/pipeline/textEncoder).
import { readShard } from '../dataset/shardNode';
import type { Shard } from '../dataset/shard';
import { isSplit, type Split } from '../dataset/splits';
import type { PackManifest } from '../packs/manifest';

export function openShard(dir: string, split: string, manifest: PackManifest): Shard {
  if (!isSplit(split)) throw new Error(`--split must be train, val or test, got ${JSON.stringify(split)}`);
  const shard = readShard(dir, split as Split);
  const { width, height } = manifest.image;
  if (shard.index.size !== width || width !== height) throw new Error(`the shard's images are ${shard.index.size}×${shard.index.size}, the pack's ${width}×${height}: render the shard with --size ${width}`);
  if (shard.index.records.length === 0) throw new Error(`the shard in ${dir} has no records`);
  return shard;
}

/** Record i as [1, 3, S, S] float32 in [-1, 1]. */
export function recordPixels(shard: Shard, i: number): Float32Array {
  const s = shard.index.size;
  const plane = s * s;
  const base = i * plane * 3;
  const out = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = shard.pixels[base + p * 3 + c] / 127.5 - 1;
  }
  return out;
}
