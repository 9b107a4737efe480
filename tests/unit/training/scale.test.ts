// The base model's scale is a make-tiny-pack choice (issue 15 item 1): a 16×16-latent pack
// (one VAE downsampling fewer) is a complete pack whose VAE and UNet train and resume bit for
// bit like the embedded one; the reconstruction PSNR that chose the scale is measured on it.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { runBase } from '../../../src/training/runBase';
import { latestCheckpointPath, loadCheckpoint } from '../../../src/training/checkpoint';
import { buildTinyPack, tinyConfigs } from '../../../src/models';
import { writePack } from '../../../src/packs/writePack';
import { loadPackFromDisk } from '../../../src/packs/node';
import { openShard } from '../../../src/training/data';
import { measureReconstruction, psnrDb, spreadRecords } from '../../../src/training/reconstruction';
import { writeShard } from '../../../src/dataset/shardNode';
import { tempDir, tinyShard } from './helpers';
import { architectureFlags } from '../../../tools/commands/makeTinyPack';

const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: 1 });
const COMMITTED = join(__dirname, '../../../public/models/tiny');

describe('base-model scale', () => {
  it('derives the latent from the image size and VAE blocks, and refuses sizes that do not divide', () => {
    expect(tinyConfigs().unet).toMatchObject({ sampleSize: 8, inChannels: 4, outChannels: 4 });
    expect(tinyConfigs({ vaeBlocks: [16, 32, 32] }).unet).toMatchObject({ sampleSize: 16 });
    expect(tinyConfigs({ imageSize: 128 }).unet.sampleSize).toBe(16);
    expect(tinyConfigs({ latentChannels: 16 }).unet).toMatchObject({ sampleSize: 8, inChannels: 16, outChannels: 16 });
    expect(() => tinyConfigs({ imageSize: 60 })).toThrow(/not divisible by the VAE's downsampling 8/);
    expect(() => tinyConfigs({ vaeBlocks: [16, 30] })).toThrow(/divisible by 8/);
    expect(() => tinyConfigs({ imageSize: 8, vaeBlocks: [16, 16, 16, 16] })).toThrow(/even size/);
  });

  it('make-tiny-pack reads the scale from --image-size, --vae-blocks and --latent-channels', () => {
    expect(architectureFlags({})).toEqual({ imageSize: undefined, vaeBlocks: undefined, latentChannels: undefined });
    expect(architectureFlags({ 'vae-blocks': '16, 32,32', 'latent-channels': '8' })).toEqual({ imageSize: undefined, vaeBlocks: [16, 32, 32], latentChannels: 8 });
    expect(() => architectureFlags({ 'image-size': '64.5' })).toThrow(/--image-size must be a positive integer/);
    expect(() => architectureFlags({ 'vae-blocks': true })).toThrow(/comma list/);
    expect(() => architectureFlags({ 'vae-blocks': '16,x' })).toThrow(/--vae-blocks must be a positive integer/);
    expect(() => architectureFlags({ 'latent-channels': '0' })).toThrow(/--latent-channels must be a positive integer/);
  });

  it('a 16×16-latent pack trains its VAE and resumes bit for bit', async () => {
    const pack = tempDir('pack16');
    writePack(pack, buildTinyPack({ vaeBlocks: [16, 32, 32] }));
    expect((await loadPackFromDisk(pack)).manifest.latent).toMatchObject({ channels: 4, width: 16, height: 16 });
    const common = { pack, data: tinyShard(), parts: ['vae' as const], steps: 3, lr: 2e-3, seed: 5, checkpointEvery: 1 };
    const straight = tempDir('pack16-straight'), split = tempDir('pack16-split');
    await runBase(runtime, { ...common, out: straight });
    await runBase(runtime, { ...common, steps: 1, out: split });
    expect((await runBase(runtime, { ...common, out: split, resume: true })).startStep).toBe(1);
    const a = loadCheckpoint(latestCheckpointPath(join(straight, 'checkpoints'))!);
    const b = loadCheckpoint(latestCheckpointPath(join(split, 'checkpoints'))!);
    expect(b.step).toBe(3);
    for (const [name, p] of Object.entries(a.params)) {
      expect(Buffer.from(b.params[name].buffer).equals(Buffer.from(p.buffer)), name).toBe(true);
      expect(Buffer.from(b.adam.v[name].buffer).equals(Buffer.from(a.adam.v[name].buffer)), name).toBe(true);
    }
    expect(b.rng).toEqual(a.rng);

    // a running stage's curve is measured from its checkpoints: the starting pack with the
    // checkpoint's weights scores exactly what the stage's written pack scores
    const trainedPack = await loadPackFromDisk(join(straight, 'pack'));
    const startPack = await loadPackFromDisk(pack);
    const shard = openShard(common.data, 'train', trainedPack.manifest);
    const fromPack = await measureReconstruction(runtime, trainedPack, shard, [0, 3]);
    expect(await measureReconstruction(runtime, startPack, shard, [0, 3], a.params)).toEqual(fromPack);
    expect((await measureReconstruction(runtime, startPack, shard, [0, 3])).mse).not.toBe(fromPack.mse);

    // a pair score (vae-psnr's identity cosine) sees each photo and its clamped reconstruction
    const seen: number[] = [];
    const withId = await measureReconstruction(runtime, trainedPack, shard, [0, 3], {}, async (x, y) => {
      let se = 0;
      for (let i = 0; i < x.length; i++) { expect(Math.abs(y[i])).toBeLessThanOrEqual(1); se += (x[i] - y[i]) ** 2; }
      seen.push(se / x.length);
      return seen.length;
    });
    expect(seen.reduce((a, b) => a + b, 0) / 2).toBeCloseTo(fromPack.mse, 12);
    expect(withId.identity).toBe(1.5);
    expect(Object.values(withId.byStyle).every((st) => st.identity !== undefined)).toBe(true);
    expect(fromPack.identity).toBeUndefined();
  });

  it('PSNR: 10·log10(4 / MSE) on [-1, 1] pixels; the trained VAE reconstructs held-out people better than random weights', async () => {
    expect(psnrDb(0.04)).toBeCloseTo(20, 10);
    expect(psnrDb(4)).toBe(0);
    expect(psnrDb(0)).toBe(99);
    expect(() => psnrDb(-1)).toThrow(/non-negative/);
    expect(spreadRecords(10, 4)).toEqual([0, 2, 5, 7]);
    expect(spreadRecords(3, 8)).toEqual([0, 1, 2]);

    const data = tempDir('heldout');
    writeShard(data, { split: 'heldout', ids: 2, photos: 1, styles: ['photo', 'pencil-sketch'], size: 64 });
    const random = tempDir('random');
    writePack(random, buildTinyPack());
    const score = async (dir: string) => {
      const p = await loadPackFromDisk(dir);
      return measureReconstruction(runtime, p, openShard(data, 'heldout', p.manifest), [0, 1, 2, 3]);
    };
    const trained = await score(COMMITTED), untrained = await score(random);
    expect(trained.records).toBe(4);
    expect(trained.psnrOfMeanMse).toBeCloseTo(psnrDb(trained.mse), 10);
    expect(trained.psnr).toBeGreaterThan(untrained.psnr + 3);
    expect(Object.keys(trained.byStyle).sort()).toEqual(['pencil-sketch', 'photo']);
    expect(trained.byStyle.photo.records).toBe(2);
    expect((trained.byStyle.photo.psnr + trained.byStyle['pencil-sketch'].psnr) / 2).toBeCloseTo(trained.psnr, 10);
  });
});
