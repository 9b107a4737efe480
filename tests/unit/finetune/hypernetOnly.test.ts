// A pack with a hypernetwork but no fine-tune graphs (the manifest allows it): personalize with 0
// fine-tune steps gives the hypernetwork's prediction at the relaxed rank, on the committed tiny
// pack with its "train" entry taken out, through createPersonalizer and through the worker's
// backend holder. Asking such a pack for fine-tune steps is refused before any graph opens.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPersonalizer, type Personalizer } from '../../../src/finetune/personalize';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import type { Runtime } from '../../../src/runtime/types';
import type { PackContents } from '../../../src/packs/types';
import { readPersonalFile } from '../../../src/lidb';
import { BackendHolder } from '../../../workers/backendHolder';
import { lidbDifference, setUp, type Setup } from './helpers';

let s: Setup;
let noTrain: PackContents;
const opened: string[] = [];
/** onnxruntime-node, noting each graph it is asked to open */
const noting = (): Runtime => {
  const node = createNodeRuntime({ backend: 'cpu' });
  return { backend: node.backend, createSession: (source) => (opened.push(source.name), node.createSession(source)) };
};
const personalizers: Personalizer[] = [];

beforeAll(async () => {
  s = await setUp();
  const { train: _train, ...manifest } = s.pack.manifest;
  noTrain = { manifest, files: s.pack.files };
});
afterAll(async () => {
  await Promise.all([s?.personalizer.release(), ...personalizers.map((p) => p.release())]);
});

const settings = (steps: number) => ({ steps, learningRate: 0.001, rank: 4, seed: 2 });

describe('a pack with a hypernetwork and no fine-tune graphs', () => {
  test('personalizes with 0 steps: the prediction itself, the same as the full pack gives at 0 steps', async () => {
    const personalizer = await createPersonalizer(noting(), noTrain);
    personalizers.push(personalizer);
    const r = await personalizer.personalize({ image: s.image, crop: s.crop }, { settings: settings(0) });
    expect(r.losses).toEqual([]);
    expect(r.stoppedEarly).toBeUndefined();
    // nothing was trained, so nothing was relaxed: the rank-1 prediction, no residual
    expect(r.lidb.rank).toBe(1);
    expect(r.residual).toBeUndefined();
    expect(lidbDifference(r.lidb, r.start.lidb)).toBeUndefined();
    const full = await s.personalizer.personalize({ image: s.image, crop: s.crop }, { settings: settings(0) });
    expect(lidbDifference(r.lidb, full.lidb)).toBeUndefined();
    const { manifest } = s.pack;
    const { meta } = readPersonalFile(r.file, { packId: manifest.id, auxSha256: manifest.lidb!.auxSha256, layers: manifest.lora.layers });
    expect(meta.fineTune).toMatchObject({ steps: 0, stepsDone: 0, start: 'hypernetwork' });
    expect(opened.some((n) => n.startsWith('UNet train step'))).toBe(false);
  });

  test('fine-tune steps are refused with what to do instead, before any graph opens', async () => {
    opened.length = 0;
    const personalizer = await createPersonalizer(noting(), noTrain);
    personalizers.push(personalizer);
    await expect(personalizer.personalize({ image: s.image, crop: s.crop }, { settings: settings(1) })).rejects.toThrow(
      /has no fine-tune graphs \(manifest "train"\): personalize with 0 fine-tune steps/,
    );
    expect(opened).toEqual([]);
  });

  test('the worker\'s backend holder opens its personalizer without train graphs and runs it', async () => {
    const holder = new BackendHolder(async (prefer) => Object.assign(createNodeRuntime({ backend: 'cpu' }), { backend: prefer, fellBack: false, notice: undefined }));
    await holder.load(noTrain, 'wasm');
    try {
      const r = await holder.withPersonalizer('personalizing', (p) => p.personalize({ image: s.image, crop: s.crop }, { settings: settings(0) }));
      expect(r.losses).toEqual([]);
      expect(r.lidb.rank).toBe(1);
    } finally {
      await holder.unload();
    }
  });

  test('a pack with neither a hypernetwork nor fine-tune graphs cannot personalize, and says why', async () => {
    const { hypernet: _h, ...manifest } = noTrain.manifest;
    await expect(createPersonalizer(noting(), { manifest, files: noTrain.files })).rejects.toThrow(/neither a hypernetwork nor fine-tune graphs/);
  });
});
