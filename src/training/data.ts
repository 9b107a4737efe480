// Shard records as model inputs: pixels NHWC uint8 → NCHW float in [-1, 1] (the VAE's range),
// captions → token ids of the pack's tokenizer.
import { readShard } from '../dataset/shardNode';
import type { Shard } from '../dataset/shard';
import { isSplit, type Split } from '../dataset/splits';
import { ClipTokenizer } from '../diffusion/tokenizer';
import type { PackManifest } from '../packs/manifest';
import type { PackContents } from '../packs/types';
import type { Tensor } from '../runtime/types';

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

export function packTokenizer(pack: PackContents): ClipTokenizer {
  return ClipTokenizer.fromJSON(JSON.parse(new TextDecoder().decode(pack.files(pack.manifest.tokenizer))));
}

export function idsTensor(manifest: PackManifest, ids: Int32Array): Tensor {
  const n = manifest.text.maxLength;
  return manifest.text.inputDtype === 'int64'
    ? { type: 'int64', dims: [1, n], data: BigInt64Array.from(ids, (v) => BigInt(v)) }
    : { type: 'int32', dims: [1, n], data: Int32Array.from(ids) };
}
