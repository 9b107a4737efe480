// The pack's train graphs against the plain forward graphs: the UNet train step's loss is the
// denoising loss the forward UNet gives, and the LiDB gradients it yields (UNet slots directly,
// text-encoder slots through ∂loss/∂c and the text encoder's VJP graph) match central finite
// differences of that forward loss, entry by entry and along a random direction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rankRelax, type Lidb } from '../../../src/lidb';
import { LidbRng } from '../../../src/lidb/random';
import { SeededRandom } from '../../../src/diffusion/random';
import { drawNoise, type NoiseDraw } from '../../../src/finetune/draws';
import { cloneLidb } from '../../../src/finetune/lidbParams';
import { openFineTuneGraphs, type FineTuneGraphs } from '../../../src/finetune/fineTuneGraphs';
import { trainStep } from '../../../src/finetune/trainStep';
import { cpuSessionConfig, createNodeRuntime, WEIGHTS_ONCE_FROM_BYTES } from '../../../src/runtime/nodeRuntime';
import { WEIGHTS_ONCE_CPU_CONFIG } from '../../../src/runtime/sessionOptions';
import { setUp, type Setup } from './helpers';

let s: Setup;
let graphs: FineTuneGraphs;
let lidb: Lidb;
let draw: NoiseDraw;
beforeAll(async () => {
  s = await setUp();
  graphs = openFineTuneGraphs(createNodeRuntime({ backend: 'cpu' }), s.pack);
  // rank 2 with every component non-zero, so no gradient is zero for a structural reason
  const rng = new LidbRng(77, 'test');
  lidb = rankRelax(s.predicted, 2, rng, 0.05);
  for (const w of lidb.layers.values()) for (let i = w.b; i < 2 * w.b; i++) w.uTrain[i] = rng.normal() * 0.05;
  draw = drawNoise(new SeededRandom(99), 1000, s.latent.length);
});
afterAll(async () => { await Promise.all([s?.personalizer.release(), graphs?.release()]); });

const forwardLoss = (l: Lidb) => s.personalizer.denoisingLoss({ lidb: l }, s.latent, [draw]);

describe('UNet train step + text-encoder VJP on the tiny pack', () => {
  it('reports the forward graphs\' loss and gradients that match central differences of it', async () => {
    const sessions = await graphs.train();
    // c comes from the text-encoder gradient graph: the plain text encoder is not held beside it
    expect(sessions.textEncoder).toBeUndefined();
    expect(sessions.textEncoderGrad).toBeDefined();
    const ctx = graphs.context(s.latent);
    const { loss, grads } = await trainStep(sessions, ctx, lidb, draw);
    const plain = await forwardLoss(lidb);
    expect(Math.abs(loss - plain)).toBeLessThan(1e-5 * plain);

    const layers = s.pack.manifest.lora.layers;
    const pick = [
      layers.find((l) => l.target === 'unet' && l.name.endsWith('attn1.to_q'))!,
      layers.find((l) => l.target === 'unet' && l.name.endsWith('attn2.to_k'))!,
      layers.find((l) => l.target === 'unet' && l.name.startsWith('up_blocks') && l.name.endsWith('attn2.to_out.0'))!,
      layers.find((l) => l.target === 'text_encoder' && l.name.endsWith('v_proj'))!,
      layers.filter((l) => l.target === 'text_encoder').at(-1)!,
    ];
    const h = 1e-2;
    for (const layer of pick) {
      for (const key of ['dTrain', 'uTrain'] as const) {
        const g = grads.get(layer.name)![key];
        // the entry with the largest gradient: its difference quotient stands well above float32 noise
        let i = 0;
        for (let j = 1; j < g.length; j++) if (Math.abs(g[j]) > Math.abs(g[i])) i = j;
        const shifted = (sign: number) => { const c = cloneLidb(lidb); c.layers.get(layer.name)![key][i] += sign * h; return c; };
        const fd = ((await forwardLoss(shifted(1))) - (await forwardLoss(shifted(-1)))) / (2 * h);
        expect(Math.abs(fd - g[i]), `${layer.name} ${key}[${i}]: graph ${g[i]}, finite difference ${fd}`).toBeLessThan(0.03 * Math.abs(g[i]) + 1e-6);
        expect(Math.abs(g[i])).toBeGreaterThan(1e-5);
      }
    }

    // along one random direction over every D_train and U_train at once
    const rng = new LidbRng(5, 'direction');
    const v = cloneLidb(lidb);
    let dot = 0;
    for (const [name, w] of v.layers) {
      const g = grads.get(name)!;
      for (const key of ['dTrain', 'uTrain'] as const) {
        for (let i = 0; i < w[key].length; i++) { w[key][i] = rng.normal(); dot += w[key][i] * g[key][i]; }
      }
    }
    const eps = 1e-3;
    const along = (sign: number) => {
      const c = cloneLidb(lidb);
      for (const [name, w] of c.layers) for (const key of ['dTrain', 'uTrain'] as const) w[key].forEach((x, i, a) => { a[i] = x + sign * eps * v.layers.get(name)![key][i]; });
      return c;
    };
    const fd = ((await forwardLoss(along(1))) - (await forwardLoss(along(-1)))) / (2 * eps);
    expect(Math.abs(fd - dot) / Math.abs(dot), `directional: graph ${dot}, finite difference ${fd}`).toBeLessThan(0.02);
  });

  it('gives every layer, UNet and text encoder, a non-zero gradient', async () => {
    const { grads } = await trainStep(await graphs.train(), graphs.context(s.latent), lidb, draw);
    for (const l of s.pack.manifest.lora.layers) {
      const g = grads.get(l.name)!;
      expect(g.dTrain.length, l.name).toBe(l.a! * 2);
      expect(g.uTrain.length, l.name).toBe(2 * l.b!);
      expect(g.dTrain.some((x) => x !== 0) && g.uTrain.some((x) => x !== 0), l.name).toBe(true);
    }
  });
});

describe('train sessions that hold each weight once (Node, large packs)', () => {
  it('only a weights-once train graph at or above the size gets the config', () => {
    const model = new Uint8Array(10);
    const big = { name: 'u', model, externalData: [{ path: 'w.bin', data: new Uint8Array(90) }] };
    expect(cpuSessionConfig({ ...big, holdsWeightsOnce: true }, 100)).toEqual(WEIGHTS_ONCE_CPU_CONFIG);
    expect(cpuSessionConfig({ ...big, holdsWeightsOnce: true }, 101)).toEqual({});
    expect(cpuSessionConfig(big, 100)).toEqual({});
    expect(WEIGHTS_ONCE_FROM_BYTES).toBe(2 ** 30);
  });

  it('the tiny pack opened as if it were large: the same loss and gradients as the default sessions', async () => {
    const once = openFineTuneGraphs(createNodeRuntime({ backend: 'cpu', weightsOnceFromBytes: 0 }), s.pack);
    try {
      const ctx = graphs.context(s.latent);
      const a = await trainStep(await graphs.train(), ctx, lidb, draw);
      const b = await trainStep(await once.train(), once.context(s.latent), lidb, draw);
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-5 * a.loss);
      let worst = 0, scale = 0;
      for (const [name, g] of a.grads) {
        const h = b.grads.get(name)!;
        for (const key of ['dTrain', 'uTrain'] as const) {
          for (let i = 0; i < g[key].length; i++) {
            worst = Math.max(worst, Math.abs(g[key][i] - h[key][i]));
            scale = Math.max(scale, Math.abs(g[key][i]));
          }
        }
      }
      expect(scale).toBeGreaterThan(0);
      expect(worst).toBeLessThan(1e-4 * scale);
    } finally {
      await once.release();
    }
  });
});
