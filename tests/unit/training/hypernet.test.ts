// `train hypernet` on the committed tiny pack, with θ* from a short `train lidb` run: the loss
// falls, k steps + resume + k steps equals 2k steps bit for bit, and the pack it writes predicts
// with the trained hypernetwork.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { runLidb } from '../../../src/training/lidbStage';
import { runHypernet } from '../../../src/training/hypernetStage';
import { latestCheckpointPath, loadCheckpoint } from '../../../src/training/checkpoint';
import { loadPackFromDisk } from '../../../src/packs/node';
import { readPackGraph } from '../../../src/training/packGraphs';
import { readTensorProto } from '../../../src/onnx';
import { logLosses, mean, tempDir, tinyShard, randomTinyPack } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });

describe('train hypernet', () => {
  it('lowers α·denoising + β·weight-space loss and resumes bit for bit', async () => {
    // one identity: the weight-space target is the same every step, so its term is not noise
    const data = tinyShard({ ids: 1, photos: 1 });
    const targets = tempDir('targets');
    await runLidb(runtime, { pack: randomTinyPack(), data, out: targets, steps: 6, lr: 1e-2, seed: 2 });
    // β large: θ* is the fixed part of the objective, so its term must fall within a few steps
    const common = { pack: randomTinyPack(), data, targets, steps: 6, lr: 1e-3, alpha: 1, beta: 100, seed: 5, checkpointEvery: 3 };
    const straight = tempDir('hyper-straight');
    const r = await runHypernet(runtime, { ...common, out: straight });
    expect(r.identities).toBe(1);
    const log = logLosses(straight);
    expect(log).toHaveLength(6);
    const w = log.map((l) => l.weightSpace);
    expect(w[5]).toBeLessThan(w[0]);
    expect(mean(w.slice(3))).toBeLessThan(mean(w.slice(0, 3)));
    expect(mean(log.slice(3).map((l) => l.loss))).toBeLessThan(mean(log.slice(0, 3).map((l) => l.loss)));

    const split = tempDir('hyper-split');
    await runHypernet(runtime, { ...common, steps: 3, out: split });
    const resumed = await runHypernet(runtime, { ...common, out: split, resume: true });
    expect(resumed.startStep).toBe(3);
    const a = loadCheckpoint(latestCheckpointPath(join(straight, 'checkpoints'))!);
    const b = loadCheckpoint(latestCheckpointPath(join(split, 'checkpoints'))!);
    for (const [name, p] of Object.entries(a.params)) {
      expect(Buffer.from(b.params[name].buffer).equals(Buffer.from(p.buffer)), name).toBe(true);
    }
    expect(b.adam.t).toBe(6);

    const trained = await loadPackFromDisk(r.packDir);
    const name = Object.keys(a.params).find((k) => k.startsWith('heads.'))!;
    const inits = readPackGraph(trained, trained.manifest.hypernet!.model).graph!.initializer!;
    expect(Array.from(readTensorProto(inits.find((t) => t.name === name)!).data as Float32Array)).toEqual(Array.from(a.params[name]));
  });
});
