// The tiny pack's UNet: the train-step graph w.r.t. every LoRA slot builds, runs on
// onnxruntime-node, its gradient agrees with a directional finite difference, and a few Adam
// steps towards a fixed target lower the loss.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildTrainingModel, withFixedDims } from '../../../src/autodiff';
import { encodeModel, feedInputs, inlineExternalData, type ModelProto } from '../../../src/onnx';
import { loadModelFile } from '../../../src/onnx/fs';
import { buildTinyModels } from '../../../src/models';
import { Adam } from '../../../src/finetune/adam';
import type { Feeds, Session } from '../../../src/runtime/types';
import { rng, runtime } from './fdHarness';

const UNET_FILE = 'public/models/tiny/unet/model.onnx';

function tinyUnet(): ModelProto {
  if (!existsSync(UNET_FILE)) return buildTinyModels().unet;
  // the pack keeps the UNet's weights in unet/weights.bin (shared with its train graph)
  const { model, readExternal } = loadModelFile(UNET_FILE);
  return inlineExternalData(model, readExternal);
}

function normal(r: () => number, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 2 * scale);
}

describe('tiny UNet train step (gradient w.r.t. all LoRA slots)', () => {
  it('builds, matches a directional finite difference, and Adam lowers the loss', async () => {
    const rank = 2;
    // batch and rank pinned, as a train step knows them (run-time shapes are covered by the fd tests)
    const unet = withFixedDims(tinyUnet(), { batch: 1, lora_rank: rank });
    const g = unet.graph!;
    const slots = feedInputs(g).map((i) => i.name!).filter((n) => n.startsWith('lora.'));
    expect(slots.length).toBeGreaterThanOrEqual(32);
    const train = buildTrainingModel(unet, { wrt: slots, prediction: 'out_sample' });
    const backward = train.graph!.node!.slice(g.node!.length + 3);
    expect(backward.every((n) => (n.domain ?? '') === '')).toBe(true);

    const r = rng(2024);
    const dims = (name: string) => feedInputs(g).find((i) => i.name === name)!.type!.tensorType!.shape!.dim!.map((x) => Number(x.dimValue));
    const params: Record<string, Float32Array> = {};
    for (const s of slots) params[s] = normal(r, dims(s).reduce((a, b) => a * b, 1), 0.05);
    const sample = normal(r, 4 * 8 * 8, 1);
    const target = normal(r, 4 * 8 * 8, 1);
    const ehs = normal(r, 77 * 32, 1);
    const feedsFor = (p: Record<string, Float32Array>): Feeds => ({
      sample: { type: 'float32', dims: [1, 4, 8, 8], data: sample },
      timestep: { type: 'float32', dims: [1], data: new Float32Array([500]) },
      encoder_hidden_states: { type: 'float32', dims: [1, 77, 32], data: ehs },
      target: { type: 'float32', dims: [1, 4, 8, 8], data: target },
      ...Object.fromEntries(slots.map((s) => [s, { type: 'float32' as const, dims: dims(s), data: p[s] }])),
    });

    const session: Session = await runtime.createSession({ name: 'unet train step', model: encodeModel(train) });
    try {
      const outputs = ['loss', ...slots.map((s) => `${s}_grad`)];
      const step = async (p: Record<string, Float32Array>) => {
        const out = await session.run(feedsFor(p), outputs);
        const grads = Object.fromEntries(slots.map((s) => [s, out[`${s}_grad`].data as Float32Array]));
        return { loss: (out.loss.data as Float32Array)[0], grads };
      };

      // directional derivative along a random direction v over all slots
      const first = await step(params);
      const v = Object.fromEntries(slots.map((s) => [s, normal(r, params[s].length, 1)]));
      let dot = 0;
      for (const s of slots) for (let i = 0; i < v[s].length; i++) dot += first.grads[s][i] * v[s][i];
      const eps = 1e-3;
      const shifted = (sign: number) => Object.fromEntries(slots.map((s) => [s, params[s].map((x, i) => x + sign * eps * v[s][i])]));
      const fd = ((await step(shifted(1))).loss - (await step(shifted(-1))).loss) / (2 * eps);
      expect(Math.abs(fd - dot) / Math.abs(dot)).toBeLessThan(2e-2);
      // every slot gets a gradient, and not a zero one
      for (const s of slots) expect(first.grads[s].some((x) => x !== 0), s).toBe(true);

      const adam = new Adam(params, { lr: 1e-2 });
      const losses = [first.loss];
      adam.step(first.grads);
      for (let k = 0; k < 4; k++) {
        const { loss, grads } = await step(params);
        losses.push(loss);
        adam.step(grads);
      }
      losses.push((await step(params)).loss);
      expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.98);
      expect(losses.every((l, i) => i === 0 || l < losses[i - 1] * 1.001)).toBe(true);
    } finally {
      await session.release();
    }
  });
});
