// `train base` on the committed tiny pack and a 3-identity shard, with onnxruntime-node: the
// loss falls, a checkpoint resumes to the same weights bit for bit, and the trained pack loads.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { runBase } from '../../../src/training/runBase';
import { latestCheckpointPath, loadCheckpoint } from '../../../src/training/checkpoint';
import { loadPackFromDisk } from '../../../src/packs/node';
import { readPackGraph } from '../../../src/training/packGraphs';
import { readTensorProto } from '../../../src/onnx';
import { logLosses, mean, tempDir, tinyShard, TINY_PACK } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });

describe('train base', () => {
  it('lowers the loss, resumes bit for bit, and writes a loadable trained pack', async () => {
    const data = tinyShard();
    const straight = tempDir('base-straight');
    const common = { pack: TINY_PACK, data, steps: 4, lr: 2e-3, seed: 3, checkpointEvery: 2 };
    const r = await runBase(runtime, { ...common, out: straight });
    expect(r.step).toBe(4);
    const log = logLosses(straight);
    expect(log.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    expect(mean(log.slice(2).map((l) => l.loss))).toBeLessThan(mean(log.slice(0, 2).map((l) => l.loss)));
    expect(mean(log.slice(2).map((l) => l.reconstruction))).toBeLessThan(mean(log.slice(0, 2).map((l) => l.reconstruction)));

    // 2 steps, then a second process-like run picks up the checkpoint and finishes
    const split = tempDir('base-split');
    await runBase(runtime, { ...common, steps: 2, out: split });
    await expect(runBase(runtime, { ...common, out: split })).rejects.toThrow(/--resume/);
    const resumed = await runBase(runtime, { ...common, out: split, resume: true });
    expect(resumed.startStep).toBe(2);
    const a = loadCheckpoint(latestCheckpointPath(join(straight, 'checkpoints'))!);
    const b = loadCheckpoint(latestCheckpointPath(join(split, 'checkpoints'))!);
    expect(b.step).toBe(4);
    expect(Object.keys(b.params)).toEqual(Object.keys(a.params));
    for (const [name, p] of Object.entries(a.params)) {
      expect(Buffer.from(b.params[name].buffer).equals(Buffer.from(p.buffer)), name).toBe(true);
      expect(Buffer.from(b.adam.m[name].buffer).equals(Buffer.from(a.adam.m[name].buffer)), name).toBe(true);
    }
    expect(b.rng).toEqual(a.rng);
    expect(logLosses(split)).toEqual(log.map((l) => ({ ...l, ms: expect.any(Number) })));

    // the trained pack: hashes verify, the decoder carries the checkpoint's weights
    expect(existsSync(join(r.packDir, 'manifest.json'))).toBe(true);
    const trained = await loadPackFromDisk(r.packDir);
    const original = await loadPackFromDisk(TINY_PACK);
    const name = Object.keys(a.params).find((k) => k.startsWith('vaeDecoder/') && k.endsWith('.weight'))!.slice('vaeDecoder/'.length);
    const w = (p: typeof trained) => readTensorProto(readPackGraph(p, p.manifest.models.vaeDecoder).graph!.initializer!.find((t) => t.name === name)!).data as Float32Array;
    expect(Array.from(w(trained))).toEqual(Array.from(a.params[`vaeDecoder/${name}`]));
    expect(Array.from(w(trained))).not.toEqual(Array.from(w(original)));
    const unetTrainBytes = trained.files(trained.manifest.train!.unet.file);
    expect(unetTrainBytes.length).toBeGreaterThan(0);
    expect(trained.manifest.files.find((f) => f.path === 'unet/weights.bin')!.sha256)
      .not.toBe(original.manifest.files.find((f) => f.path === 'unet/weights.bin')!.sha256);
  });
});
