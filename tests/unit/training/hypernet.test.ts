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
import { lidbToRows, meanRows, measureHypernetError, readAllTargets, readTargets, weightSpaceError } from '../../../src/training/hypernetTargets';
import { openShard } from '../../../src/training/data';
import { run as trainCommand } from '../../../tools/commands/train';
import { readLidbFile } from '../../../src/lidb/file';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { vi } from 'vitest';

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

describe('train check-hypernet', () => {
  it("compares the hypernetwork's weight-space error with always predicting the mean θ* of the training identities", async () => {
    const data = tinyShard({ ids: 3, photos: 2 });
    const all = tempDir('theta-all');
    await runLidb(runtime, { pack: randomTinyPack(), data, out: all, steps: 3, lr: 1e-2, seed: 4 });
    // identities 0 and 1 are "training", identity 2 is the one checked
    const train = tempDir('theta-train'), held = tempDir('theta-held');
    for (const id of ['00000', '00001']) copyFileSync(join(all, `id${id}.lidb.safetensors`), join(train, `id${id}.lidb.safetensors`));
    copyFileSync(join(all, 'id00002.lidb.safetensors'), join(held, 'id00002.lidb.safetensors'));

    const pack = await loadPackFromDisk(randomTinyPack());
    const shard = openShard(data, 'train', pack.manifest);
    const items = readTargets(pack, shard, held);
    expect(items.map((i) => i.identity)).toEqual([2]);
    expect(items[0].records).toHaveLength(2);
    const training = readAllTargets(pack, train);
    expect(training).toHaveLength(2);

    // the mean predictor's error, computed here from the files themselves
    const { aMax, bMax } = pack.manifest.lidb!;
    const layers = pack.manifest.lora.layers;
    const rows = (id: string) => lidbToRows(readLidbFile(new Uint8Array(readFileSync(join(all, `id${id}.lidb.safetensors`))), { packId: pack.manifest.id, auxSha256: pack.manifest.lidb!.auxSha256, layers }).lidb, layers.map((l) => l.name), aMax, bMax);
    const [r0, r1, r2] = ['00000', '00001', '00002'].map(rows);
    const valid = layers.reduce((s, l) => s + l.a! + l.b!, 0);
    let manual = 0;
    for (const [x, y, z] of [[r0.down, r1.down, r2.down], [r0.up, r1.up, r2.up]] as const) for (let i = 0; i < x.length; i++) manual += ((x[i] + y[i]) / 2 - z[i]) ** 2;
    const report = await measureHypernetError(runtime, pack, items, meanRows(training), shard);
    expect(report.meanTheta).toBeCloseTo(manual / valid, 9);
    expect(report.meanTheta).toBeGreaterThan(0);
    expect(report.hypernet).toBeGreaterThan(0);
    expect(report.ratio).toBeCloseTo(report.hypernet / report.meanTheta, 12);
    expect(weightSpaceError(r2, r2, valid)).toBe(0);
    // predicting an identity's own θ* costs nothing
    expect((await measureHypernetError(runtime, pack, items, r2, shard)).meanTheta).toBe(0);

    // the command: the same numbers in its JSON; missing folders are named
    const json = join(tempDir('check-json'), 'check.json');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await trainCommand(['check-hypernet', '--pack', randomTinyPack(), '--data', data, '--split', 'train', '--targets', held, '--mean-of', train, '--json', json])).toBe(0);
    expect(String(log.mock.calls.at(-1)![0])).toMatch(/ratio \d+\.\d{3} \(issue 15's target ≤ 0\.5\)/);
    log.mockRestore();
    const out = JSON.parse(readFileSync(json, 'utf8'));
    expect(out).toMatchObject({ identities: 1, meanOfCount: 2 });
    expect(out.meanTheta).toBeCloseTo(report.meanTheta, 12);
    expect(out.hypernet).toBeCloseTo(report.hypernet, 12);
    const empty = tempDir('theta-empty');
    mkdirSync(empty, { recursive: true });
    await expect(trainCommand(['check-hypernet', '--pack', randomTinyPack(), '--data', data, '--split', 'train', '--targets', '/nonexistent/theta', '--mean-of', train])).rejects.toThrow(/--targets \/nonexistent\/theta: no such folder/);
    await expect(trainCommand(['check-hypernet', '--pack', randomTinyPack(), '--data', data, '--split', 'train', '--targets', held, '--mean-of', empty])).rejects.toThrow(/no θ\* to average/);
    await expect(trainCommand(['check-hypernet', '--pack', randomTinyPack(), '--data', data, '--split', 'train', '--targets', empty, '--mean-of', train])).rejects.toThrow(/no identity with a θ\*/);
  });
});
