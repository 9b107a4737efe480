// The exported standard LoRA, imported again, drives the tiny pack's real UNet and text encoder
// (onnxruntime-node, no mocks) to the same outputs as the LiDB it came from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { LoadedPack } from '../../../src/packs/types';
import type { LoraTarget } from '../../../src/packs/manifest';
import { modelSource } from '../../../src/pipeline/modelSource';
import { loraFeeds, zeroLoraFeeds } from '../../../src/pipeline/lora';
import type { Feeds, Session, Tensor } from '../../../src/runtime/types';
import {
  importLora, initLidb, LidbRng, lidbToLoraFile, lidbToSlots, makeAuxBases, rankRelax, type LoraSlots,
} from '../../../src/lidb';
import { maxAbs, maxAbsDiff, randomArray } from './helpers';

const TINY = fileURLToPath(new URL('../../../public/models/tiny', import.meta.url));

let pack: LoadedPack;
let unet: Session;
let textEncoder: Session;

beforeAll(async () => {
  pack = await loadPackFromDisk(TINY);
  const runtime = createNodeRuntime({ backend: 'cpu' });
  unet = await runtime.createSession(modelSource('unet', pack.manifest.models.unet, pack.files));
  textEncoder = await runtime.createSession(modelSource('text encoder', pack.manifest.models.textEncoder, pack.files));
});
afterAll(async () => {
  await unet?.release();
  await textEncoder?.release();
});

function randomTensor(dims: number[], rng: LidbRng): Tensor {
  return { type: 'float32', dims, data: randomArray(dims.reduce((a, b) => a * b, 1), rng) };
}

async function run(session: Session, target: LoraTarget, base: Feeds, slots?: LoraSlots): Promise<Float32Array> {
  const layers = pack.manifest.lora.layers;
  const feeds = { ...base, ...loraFeeds(layers, target, zeroLoraFeeds(layers, target), slots) };
  const out = await session.run(feeds);
  return out[session.outputNames[0]].data as Float32Array;
}

describe('exported LoRA ≡ LiDB through the tiny pack graphs', () => {
  it('kohya and PEFT round trips give the LiDB\'s UNet and text-encoder outputs (max abs diff ≤ 1e-5)', async () => {
    const m = pack.manifest;
    const layers = m.lora.layers;
    const aux = makeAuxBases(layers, 5);
    const rng = new LidbRng(6);
    // a relaxed-rank LiDB with every component non-zero, large enough to move the outputs
    const lidb = rankRelax(initLidb(layers, 1, rng), 3, rng, 0.3);
    for (const w of lidb.layers.values()) w.uTrain.set(randomArray(w.uTrain.length, rng, 0.3));
    const slots = lidbToSlots(lidb, aux);

    const { channels, height, width } = m.latent;
    const unetBase: Feeds = {
      sample: randomTensor([1, channels, height, width], rng),
      timestep: { type: 'float32', dims: [1], data: Float32Array.of(500) },
      encoder_hidden_states: randomTensor([1, m.text.maxLength, m.text.hiddenSize], rng),
    };
    expect(unet.inputNames).toEqual(expect.arrayContaining(Object.keys(unetBase)));
    // token ids within the tiny vocabulary (a few hundred words)
    const ids = Int32Array.from({ length: m.text.maxLength }, (_, i) => (i * 37 + 11) % 500);
    const teBase: Feeds = { [textEncoder.inputNames.find((n) => !n.startsWith('lora.'))!]: { type: 'int32', dims: [1, ids.length], data: ids } };

    const unetLidb = await run(unet, 'unet', unetBase, slots);
    const teLidb = await run(textEncoder, 'text_encoder', teBase, slots);
    const unetZero = await run(unet, 'unet', unetBase);
    const teZero = await run(textEncoder, 'text_encoder', teBase);
    // the personalization matters: otherwise the comparison below would prove nothing
    expect(maxAbsDiff(unetLidb, unetZero)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(teLidb, teZero)).toBeGreaterThan(1e-2);

    for (const format of ['kohya', 'peft'] as const) {
      const imported = importLora(lidbToLoraFile(lidb, aux, layers, format), layers);
      expect(imported.applied.length).toBe(layers.length);
      const du = maxAbsDiff(await run(unet, 'unet', unetBase, imported.slots), unetLidb);
      const dt = maxAbsDiff(await run(textEncoder, 'text_encoder', teBase, imported.slots), teLidb);
      console.log(`${format}: UNet max abs diff ${du.toExponential(2)} (output scale ${maxAbs(unetLidb).toFixed(2)}), text encoder ${dt.toExponential(2)}`);
      expect(du).toBeLessThanOrEqual(1e-5);
      expect(dt).toBeLessThanOrEqual(1e-5);
    }
  });
});
