// The paper's rank relaxation (full-space residual LoRA beside the merged prediction) against the
// aux-subspace variant: the same model output at step 0, residual gradients that match central
// differences of the forward loss on the tiny pack, updates that leave the aux subspace only in
// the full-space form, and a default fine-tune that lowers the held-out loss.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/diffusion/random';
import { drawNoise, heldOutDraws } from '../../../src/finetune/draws';
import { Adam } from '../../../src/finetune/adam';
import { openFineTuneGraphs, type FineTuneGraphs } from '../../../src/finetune/fineTuneGraphs';
import { relax, type Relaxation } from '../../../src/finetune/relaxation';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { slotTrainStep } from '../../../src/finetune/trainStep';
import { cloneResidual, initLidb, LidbRng, makeAuxBases, personalSlots, readPersonalFile, type PersonalWeights } from '../../../src/lidb';
import type { LoraLayer } from '../../../src/packs/manifest';
import { maxAbsDiff, setUp, type Setup } from './helpers';

let s: Setup;
let graphs: FineTuneGraphs;
beforeAll(async () => {
  s = await setUp();
  graphs = openFineTuneGraphs(createNodeRuntime({ backend: 'cpu' }), s.pack);
});
afterAll(async () => { await s?.personalizer.release(); await graphs?.release(); });

const settings = (relaxation: Relaxation, seed: number) => ({ ...s.pack.manifest.train!.defaults, relaxation, seed });
const relaxOpts = (relaxation: Relaxation, seed = 1) => ({ relaxation, rank: 4, seed, aux: s.personalizer.aux, layers: s.pack.manifest.lora.layers });

describe('full-space relaxation on the tiny pack', () => {
  it('starts from exactly the prediction: same slot products, same forward loss', async () => {
    const draws = heldOutDraws(4, 1000, s.latent.length);
    const start = relax(s.predicted, relaxOpts('full-space')).snapshot();
    expect(start.residual!.rank).toBe(4);
    const a = await s.personalizer.denoisingLoss({ lidb: s.predicted }, s.latent, draws);
    const b = await s.personalizer.denoisingLoss(start, s.latent, draws);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * a);
  });

  it("the residual's gradients match central differences of the forward loss", async () => {
    const weights = relax(s.predicted, relaxOpts('full-space', 2));
    // B non-zero too, so A's gradient (G·Bᵀ) is not zero for a structural reason
    const rng = new LidbRng(3, 'b');
    for (const [k, v] of Object.entries(weights.params)) if (k.endsWith('.residual_up')) for (let i = 0; i < v.length; i++) v[i] = rng.normal() * 0.05;
    const draw = drawNoise(new SeededRandom(99), 1000, s.latent.length);
    const { loss, slotGrads } = await slotTrainStep(await graphs.train(), graphs.context(s.latent), weights.slots(), draw);
    const grads = weights.paramGrads(slotGrads);
    const forward = (w: PersonalWeights) => s.personalizer.denoisingLoss(w, s.latent, [draw]);
    expect(Math.abs(loss - (await forward(weights.snapshot())))).toBeLessThan(1e-5 * loss);

    const layers = s.pack.manifest.lora.layers;
    const pick = [
      layers.find((l) => l.target === 'unet' && l.name.endsWith('attn1.to_q'))!,
      layers.find((l) => l.target === 'unet' && l.name.endsWith('attn2.to_v'))!,
      layers.find((l) => l.target === 'text_encoder' && l.name.endsWith('k_proj'))!,
    ];
    const h = 1e-2;
    for (const layer of pick) {
      for (const part of ['down', 'up'] as const) {
        const g = grads[`${layer.name}.residual_${part}`];
        let i = 0;
        for (let j = 1; j < g.length; j++) if (Math.abs(g[j]) > Math.abs(g[i])) i = j;
        const shifted = (sign: number): PersonalWeights => {
          const w = weights.snapshot();
          const r = cloneResidual(w.residual!);
          r.layers.get(layer.name)![part][i] += sign * h;
          return { lidb: w.lidb, residual: r };
        };
        const fd = ((await forward(shifted(1))) - (await forward(shifted(-1)))) / (2 * h);
        expect(Math.abs(g[i])).toBeGreaterThan(1e-5);
        expect(Math.abs(fd - g[i]), `${layer.name} ${part}[${i}]: graph ${g[i]}, finite difference ${fd}`).toBeLessThan(0.03 * Math.abs(g[i]) + 1e-6);
      }
    }
  });

  it('40 default steps lower the held-out loss and leave the prediction merged as it was; the file holds both', async () => {
    const r = await s.personalizer.personalize({ image: s.image, crop: s.crop }, { settings: settings('full-space', 11) });
    expect(r.stoppedEarly).toBeUndefined();
    expect(r.losses).toHaveLength(40);
    expect(r.residual!.rank).toBe(4);
    // the LiDB is the hypernetwork's prediction, untouched
    for (const [name, w] of s.predicted.layers) expect(maxAbsDiff(r.lidb.layers.get(name)!.uTrain, w.uTrain), name).toBe(0);
    const draws = heldOutDraws(64, 1000, r.latent.length);
    const before = await s.personalizer.denoisingLoss(r.start, r.latent, draws);
    const after = await s.personalizer.denoisingLoss(r, r.latent, draws);
    const sub = await s.personalizer.personalize({ image: s.image, crop: s.crop }, { settings: settings('aux-subspace', 11) });
    const subAfter = await s.personalizer.denoisingLoss(sub, sub.latent, draws);
    console.log(`held-out denoising loss over 64 draws: prediction ${before.toFixed(4)} → full-space ${after.toFixed(4)}, aux-subspace ${subAfter.toFixed(4)}`);
    expect(after).toBeLessThan(before * 0.97);

    const { manifest } = s.pack;
    const { weights, meta } = readPersonalFile(r.file, { packId: manifest.id, auxSha256: manifest.lidb!.auxSha256, layers: manifest.lora.layers });
    expect(meta).toMatchObject({ formatVersion: 2, residualRank: 4, fineTune: { relaxation: 'full-space' } });
    const name = manifest.lora.layers[5].name;
    expect(maxAbsDiff(weights.residual!.layers.get(name)!.up, r.residual!.layers.get(name)!.up)).toBe(0);
    expect(sub.residual).toBeUndefined();
    expect(readPersonalFile(sub.file, { packId: manifest.id, auxSha256: manifest.lidb!.auxSha256, layers: manifest.lora.layers }).meta.fineTune.relaxation).toBe('aux-subspace');
  });
});

describe('where the update can go (layers wider than their aux bases, as on SD1.5)', () => {
  // a = 4 of nIn = 16, b = 3 of nOut = 12: the aux subspace is a sliver of the layer
  const layers: LoraLayer[] = [{ name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', target: 'unet', nIn: 16, nOut: 12, a: 4, b: 3 } as LoraLayer];
  const aux = makeAuxBases(layers, 7);
  const basis = aux.bases.get(layers[0].name)!;
  const prediction = initLidb(layers, 1, new LidbRng(1, 'p'));
  for (const w of prediction.layers.values()) w.uTrain.fill(0.3);

  /** ‖ΔW − P_D·ΔW·P_U‖ / ‖ΔW‖ for ΔW the change of the slot product: its share outside the aux subspace. */
  const outsideShare = (before: PersonalWeights, after: PersonalWeights) => {
    const { nIn, nOut, a, b, dAux, uAux } = basis;
    const prod = (w: PersonalWeights) => {
      const slot = personalSlots(w, aux, layers).get(layers[0].name)!;
      const m = new Float64Array(nIn * nOut);
      for (let i = 0; i < nIn; i++) for (let k = 0; k < slot.rank; k++) for (let j = 0; j < nOut; j++) m[i * nOut + j] += slot.down[i * slot.rank + k] * slot.up[k * nOut + j];
      return m;
    };
    const x = prod(after), y = prod(before);
    const d = x.map((v, i) => v - y[i]);
    // P_D = D_aux·D_auxᵀ (columns orthonormal), P_U = U_auxᵀ·U_aux (rows orthonormal)
    const pd = (i: number, k: number) => { let v = 0; for (let c = 0; c < a; c++) v += dAux[i * a + c] * dAux[k * a + c]; return v; };
    const pu = (j: number, l: number) => { let v = 0; for (let r = 0; r < b; r++) v += uAux[r * nOut + j] * uAux[r * nOut + l]; return v; };
    let out = 0, all = 0;
    for (let i = 0; i < nIn; i++) for (let j = 0; j < nOut; j++) {
      let p = 0;
      for (let k = 0; k < nIn; k++) for (let l = 0; l < nOut; l++) p += pd(i, k) * d[k * nOut + l] * pu(l, j);
      out += (d[i * nOut + j] - p) ** 2;
      all += d[i * nOut + j] ** 2;
    }
    return Math.sqrt(out / all);
  };

  for (const [relaxation, inside] of [['aux-subspace', true], ['full-space', false]] as const) {
    it(`${relaxation}: three Adam steps on random slot gradients move ΔW ${inside ? 'only inside' : 'outside'} the aux subspace`, () => {
      const w = relax(prediction, { relaxation, rank: 2, seed: 3, aux, layers });
      const start = w.snapshot();
      const adam = new Adam(w.params, { lr: 0.05 });
      const rng = new LidbRng(4, 'g');
      for (let step = 0; step < 3; step++) {
        const slot = w.slots().get(layers[0].name)!;
        const grad = { down: slot.down.map(() => rng.normal()), up: slot.up.map(() => rng.normal()) };
        adam.step(w.paramGrads(new Map([[layers[0].name, grad]])));
      }
      const share = outsideShare(start, w.snapshot());
      if (inside) expect(share).toBeLessThan(1e-5);
      else expect(share).toBeGreaterThan(0.3);
    });
  }
});
