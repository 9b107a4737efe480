// `train lidb` on the committed tiny pack: θ* per identity lowers that identity's held-out
// denoising loss, --shard 0/2 and 1/2 cover the identities exactly once, a rerun skips them.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { runLidb, lidbTargetName, parseShardSpec, identityPhotoRecords } from '../../../src/training/lidbStage';
import { loadPackFromDisk } from '../../../src/packs/node';
import { createPersonalizer } from '../../../src/finetune/personalize';
import { readLidbFile, initLidb } from '../../../src/lidb';
import { LidbRng } from '../../../src/lidb/random';
import { heldOutDraws } from '../../../src/finetune/draws';
import { readShard } from '../../../src/dataset/shardNode';
import { shardImage } from '../../../src/dataset/shard';
import { tempDir, tinyShard, randomTinyPack } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });

describe('train lidb', () => {
  it('parses --shard i/n and refuses bad ones', () => {
    expect(parseShardSpec('1/3')).toEqual({ index: 1, count: 3 });
    for (const bad of ['3/3', '0/0', '1', 'a/b', '-1/2']) expect(() => parseShardSpec(bad)).toThrow(/--shard must be i\/n/);
  });

  it('fits θ* per identity, split over two shards exactly once, resumable, lowering held-out loss', async () => {
    const data = tinyShard({ ids: 4, photos: 1 });
    const out = tempDir('lidb');
    const common = { pack: randomTinyPack(), data, out, steps: 12, lr: 1e-2, seed: 1 };
    const a = await runLidb(runtime, { ...common, shard: { index: 0, count: 2 } });
    const b = await runLidb(runtime, { ...common, shard: { index: 1, count: 2 } });
    expect(a.fitted).toEqual([0, 2]);
    expect(b.fitted).toEqual([1, 3]);
    const files = readdirSync(out).filter((f) => f.endsWith('.lidb.safetensors')).sort();
    expect(files).toEqual([0, 1, 2, 3].map(lidbTargetName));
    const again = await runLidb(runtime, { ...common, shard: { index: 0, count: 2 } });
    expect(again).toMatchObject({ fitted: [], skipped: [0, 2] });

    const pack = await loadPackFromDisk(randomTinyPack());
    const { manifest } = pack;
    const expected = { packId: manifest.id, auxSha256: manifest.lidb!.auxSha256, layers: manifest.lora.layers };
    const { lidb, meta } = readLidbFile(new Uint8Array(readFileSync(join(out, lidbTargetName(2)))), expected);
    expect(meta.rank).toBe(1);
    expect(meta.fineTune).toMatchObject({ steps: 12, identity: 2 });
    const p = await createPersonalizer(runtime, pack);
    try {
      const shard = readShard(data, 'train');
      const latent = await p.encodeLatent(shardImage(shard, identityPhotoRecords(shard, 2)[0]));
      const draws = heldOutDraws(16, manifest.schedule.numTrainTimesteps, latent.length);
      // every identity starts from the run seed's LiDB
      expect(meta.fineTune.initSeed).toBe(1);
      const start = initLidb(manifest.lora.layers, 1, new LidbRng(1, 'init'));
      const other = readLidbFile(new Uint8Array(readFileSync(join(out, lidbTargetName(3)))), expected).lidb;
      const name = manifest.lora.layers[0].name;
      expect(Array.from(lidb.layers.get(name)!.dTrain)).not.toEqual(Array.from(start.layers.get(name)!.dTrain));
      expect(Array.from(lidb.layers.get(name)!.dTrain)).not.toEqual(Array.from(other.layers.get(name)!.dTrain));
      const before = await p.denoisingLoss({ lidb: start }, latent, draws);
      const after = await p.denoisingLoss({ lidb }, latent, draws);
      expect(after).toBeLessThan(before);
    } finally {
      await p.release();
    }
  });
});
