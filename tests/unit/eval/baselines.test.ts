// The weight-training baselines on the committed tiny pack with real onnxruntime-node sessions:
// DreamBooth's train graph over the UNet's own weights (gradients against central finite
// differences of the plain forward graph's loss; a few steps lower the loss on fixed draws and
// change the image; the pack on disk stays as it was) and textual inversion (only the trigger's
// row moves, and the loss on the draws it trained on goes down).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identitySeed, photoSeed, renderPhoto, sampleIdentity } from '../../../src/dataset';
import { dreamboothFineTune, openUnetWeightTraining, type UnetWeightTraining } from '../../../src/eval/baselines/dreambooth';
import { packWithWeights } from '../../../src/eval/baselines/packOverlay';
import { openTokenTraining, textualInversion, type TokenTraining } from '../../../src/eval/baselines/textualInversion';
import { SeededRandom } from '../../../src/diffusion/random';
import { drawNoise, heldOutDraws } from '../../../src/finetune/draws';
import { openFineTuneGraphs } from '../../../src/finetune/fineTuneGraphs';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { PackContents } from '../../../src/packs/types';
import { createPipeline } from '../../../src/pipeline/pipeline';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { TINY } from '../finetune/helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });

function packHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function generate(pack: PackContents): Promise<Uint8ClampedArray | Uint8Array> {
  const pipeline = await createPipeline(runtime, pack);
  try {
    const [img] = await pipeline.generate({ prompts: ['a sks face, pop art'], seed: 3, steps: 2, guidance: 1, scheduler: 'ddim' });
    return img.rgba;
  } finally {
    await pipeline.release();
  }
}

let pack: PackContents;
let latent: Float32Array;
const before = packHashes(TINY);

beforeAll(async () => {
  pack = await loadPackFromDisk(TINY);
  const idSeed = identitySeed('val', 0, 0);
  const selfie = renderPhoto(sampleIdentity(idSeed), photoSeed(idSeed, 0), { size: pack.manifest.image.width });
  const graphs = openFineTuneGraphs(runtime, pack);
  latent = await graphs.encodeLatent(selfie);
  await graphs.release();
});

describe('DreamBooth: the UNet weights train graph', () => {
  let training: UnetWeightTraining;
  beforeAll(async () => { training = await openUnetWeightTraining(runtime, pack); }, 60_000);
  afterAll(async () => { await training?.release(); });

  it('gives weight gradients that match central finite differences of the forward loss', async () => {
    const ctx = training.graphs.context(latent);
    const c = await training.context(ctx);
    const [draw] = heldOutDraws(1, pack.manifest.schedule.numTrainTimesteps, latent.length);
    const params = Object.fromEntries(Object.entries(training.initial).map(([k, v]) => [k, v.slice()]));
    const { loss, grads } = await training.lossAndGrads(params, ctx, c, draw);
    expect(await training.forwardLoss(params, ctx, c, draw)).toBeCloseTo(loss, 5);
    // the largest-gradient entries over all weights, one per tensor
    const top = Object.entries(grads).map(([name, g]) => {
      let at = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[at])) at = i;
      return { name, at, g: g[at] };
    }).sort((a, b) => Math.abs(b.g) - Math.abs(a.g)).slice(0, 4);
    expect(Math.abs(top[0].g)).toBeGreaterThan(1e-4);
    for (const { name, at, g } of top) {
      const h = 1e-3;
      const w = params[name][at];
      params[name][at] = w + h;
      const up = await training.forwardLoss(params, ctx, c, draw);
      params[name][at] = w - h;
      const down = await training.forwardLoss(params, ctx, c, draw);
      params[name][at] = w;
      const fd = (up - down) / (2 * h);
      expect(Math.abs(fd - g), `${name}[${at}]: autodiff ${g}, finite differences ${fd}`).toBeLessThan(0.03 * Math.abs(g) + 1e-5);
    }
  }, 60_000);

  it('a few steps lower the loss on fixed draws and change the image, and the pack on disk stays as it was', async () => {
    const ctx = training.graphs.context(latent);
    const c = await training.context(ctx);
    const draws = heldOutDraws(4, pack.manifest.schedule.numTrainTimesteps, latent.length);
    const meanLoss = async (p: Record<string, Float32Array>) => {
      let s = 0;
      for (const d of draws) s += await training.forwardLoss(p, ctx, c, d);
      return s / draws.length;
    };
    const start = await meanLoss({ ...training.initial });
    const out = await dreamboothFineTune(training, latent, { steps: 4, learningRate: 3e-4, seed: 1 });
    expect(out.losses).toHaveLength(4);
    expect(Object.keys(out.weights).sort()).toEqual(Object.keys(training.initial).sort());
    const end = await meanLoss(out.weights);
    expect(end).toBeLessThan(start);
    const base = await generate(pack);
    const tuned = await generate(packWithWeights(pack, 'unet', out.weights));
    let diff = 0;
    for (let i = 0; i < base.length; i++) diff = Math.max(diff, Math.abs(base[i] - tuned[i]));
    expect(diff).toBeGreaterThan(2);
    // the pack's initial weights are untouched in memory and on disk
    expect(await meanLoss({ ...training.initial })).toBe(start);
    expect(packHashes(TINY)).toEqual(before);
  }, 60_000);
});

describe('textual inversion', () => {
  let training: TokenTraining;
  beforeAll(async () => { training = await openTokenTraining(runtime, pack); }, 60_000);
  afterAll(async () => { await training?.release(); });

  it('learns only the trigger token\'s row and lowers the loss', async () => {
    expect(training.tableName).toBe('text_model.embeddings.token_embedding.weight');
    const ctx = training.graphs.context(latent);
    // the draws the fine-tune trains on (seed 1): the training loss
    const rng = new SeededRandom(1);
    const draws = Array.from({ length: 10 }, () => drawNoise(rng, pack.manifest.schedule.numTrainTimesteps, latent.length));
    const meanLoss = async (table: Float32Array) => {
      let s = 0;
      for (const d of draws) s += (await training.lossAndGrad(table, ctx, d)).loss;
      return s / draws.length;
    };
    const start = await meanLoss(training.table);
    const out = await textualInversion(training, latent, { steps: 10, learningRate: 2e-2, seed: 1 });
    const { hidden, token } = training;
    const changedRows = new Set<number>();
    for (let i = 0; i < out.table.length; i++) if (out.table[i] !== training.table[i]) changedRows.add(Math.floor(i / hidden));
    expect([...changedRows]).toEqual([token]);
    expect(await meanLoss(out.table)).toBeLessThan(start);
    // the generated image follows the learned row
    const base = await generate(pack);
    const tuned = await generate(packWithWeights(pack, 'textEncoder', { [training.tableName]: out.table }));
    expect(base.some((v, i) => v !== tuned[i])).toBe(true);
    expect(packHashes(TINY)).toEqual(before);
  }, 60_000);
});
