// `train hypernet`: the hypernetwork H (face → rank-1 LiDB, s refinement steps unrolled in the
// pack's graph) trained on L = α·(denoising loss through the UNet with H's LiDB)
// + β·mean‖θ̂ − θ*‖² over each layer's own (unpadded) rows, θ* from `train lidb`.
// ∂L/∂θ̂ is assembled on the host in the graph's padded row layout ([L, aMax] and [L, bMax]):
// the weight-space term analytically, the denoising term from the UNet/text-encoder train graphs'
// slot gradients mapped through the aux bases (trainStep); the hypernet's gradient graph
// (of lidb_down/lidb_up, seeds as inputs) takes it to every hypernet weight.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildGradientModel } from '../autodiff';
import type { SeededRandom } from '../diffusion/random';
import { shardImage } from '../dataset/shard';
import { resizeSquare, toPixelValues } from '../face/crop';
import type { RgbaImage } from '../face/image';
import { drawNoise } from '../finetune/draws';
import { gradName } from '../packs/graphIO';
import { trainStep } from '../finetune/trainStep';
import { lidbFromRows } from '../lidb/lidb';
import { HYPERNET_IO } from '../packs/graphIO';
import { encodeModel } from '../onnx';
import { loadPackFromDisk } from '../packs/node';
import { writePack } from '../packs/writePack';
import { openFineTuneGraphs } from '../finetune/fineTuneGraphs';
import type { Runtime } from '../runtime/types';
import { openShard } from './data';
import { readTargets } from './hypernetTargets';
import { liftInitializers, paramFeeds } from './lift';
import { trainLoop, type CheckpointedRunOptions, type TrainLoopResult } from './loop';
import { packModelOf, readPackGraph, repackWithWeights } from './packGraphs';

export interface HypernetRunOptions extends CheckpointedRunOptions {
  targets: string;
  alpha?: number;
  beta?: number;
}

export const HYPERNET_DEFAULTS = { lr: 1e-3, batch: 1, alpha: 1, beta: 1, seed: 0, checkpointEvery: 50, split: 'train' } as const;

export async function runHypernet(runtime: Runtime, o: HypernetRunOptions): Promise<TrainLoopResult & { packDir: string; identities: number }> {
  const batch = o.batch ?? HYPERNET_DEFAULTS.batch;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${batch}`);
  const alpha = o.alpha ?? HYPERNET_DEFAULTS.alpha, beta = o.beta ?? HYPERNET_DEFAULTS.beta;
  if (!(alpha >= 0) || !(beta >= 0) || alpha + beta === 0) throw new Error(`--alpha and --beta must be non-negative and not both 0, got ${alpha} and ${beta}`);
  const pack = await loadPackFromDisk(o.pack);
  const { manifest } = pack;
  const h = manifest.hypernet;
  if (!h || !manifest.lidb) throw new Error(`pack "${manifest.id}" has no hypernetwork or LiDB aux bases`);
  const { aMax, bMax } = manifest.lidb;
  const layers = manifest.lora.layers;
  const layerNames = layers.map((l) => l.name);
  const shard = openShard(o.data, o.split ?? HYPERNET_DEFAULTS.split, manifest);

  // the identities with a θ*, and their photo records
  const items = readTargets(pack, shard, o.targets);
  if (items.length === 0) throw new Error(`no identity of the shard has a θ* in ${o.targets} (run 'hyperbooth train lidb' first)`);
  // the weight-space term averages over the real entries only: the padding is zero on both sides
  const validCount = layers.reduce((s, l) => s + l.a! + l.b!, 0);

  const lifted = liftInitializers(readPackGraph(pack, packModelOf(manifest, 'hypernet')));
  const names = Object.keys(lifted.params);
  const graphs = openFineTuneGraphs(runtime, pack);
  const forward = await runtime.createSession({ name: 'hypernet', model: encodeModel(lifted.model) });
  const backward = await runtime.createSession({
    name: 'hypernet grad',
    model: encodeModel(buildGradientModel(lifted.model, { of: [HYPERNET_IO.down, HYPERNET_IO.up], wrt: names })),
  });
  try {
    const sessions = await graphs.train();
    const faces = new Map<number, { pixels: Float32Array; latent: Float32Array }>();
    const faceOf = async (record: number) => {
      let f = faces.get(record);
      if (!f) {
        const image: RgbaImage = shardImage(shard, record);
        const hyper = resizeSquare(image, h.imageSize);
        f = { pixels: toPixelValues(hyper, h.normalize), latent: await graphs.encodeLatent(image) };
        faces.set(record, f);
      }
      return f;
    };
    const feeds = () => paramFeeds(lifted.params, lifted.dims);
    const pixelDims = [1, 3, h.imageSize, h.imageSize];

    const step = async (rng: SeededRandom) => {
      const grads = Object.fromEntries(names.map((n) => [n, new Float32Array(lifted.params[n].length)]));
      let denoising = 0, weight = 0;
      for (let b = 0; b < batch; b++) {
        const item = items[Math.min(items.length - 1, Math.floor(rng.random() * items.length))];
        const record = item.records[Math.min(item.records.length - 1, Math.floor(rng.random() * item.records.length))];
        const face = await faceOf(record);
        const px = { type: 'float32' as const, dims: pixelDims, data: face.pixels };
        const out = await forward.run({ [HYPERNET_IO.input]: px, ...feeds() }, [HYPERNET_IO.down, HYPERNET_IO.up]);
        const down = out[HYPERNET_IO.down].data as Float32Array, up = out[HYPERNET_IO.up].data as Float32Array;
        const seedDown = new Float32Array(down.length), seedUp = new Float32Array(up.length);

        let w = 0;
        for (const [pred, target, seed] of [[down, item.target.down, seedDown], [up, item.target.up, seedUp]] as const) {
          for (let i = 0; i < pred.length; i++) {
            const d = pred[i] - target[i];
            w += d * d;
            seed[i] += (beta * 2 * d) / validCount;
          }
        }
        w /= validCount;

        const lidb = lidbFromRows(layers, down, up, aMax, bMax);
        const ctx = graphs.context(face.latent);
        const draw = drawNoise(rng, manifest.schedule.numTrainTimesteps, face.latent.length);
        const { loss, grads: lg } = await trainStep(sessions, ctx, lidb, draw);
        layerNames.forEach((name, i) => {
          const g = lg.get(name)!;
          for (let j = 0; j < g.dTrain.length; j++) seedDown[i * aMax + j] += alpha * g.dTrain[j];
          for (let j = 0; j < g.uTrain.length; j++) seedUp[i * bMax + j] += alpha * g.uTrain[j];
        });

        const back = await backward.run({
          [HYPERNET_IO.input]: px,
          [gradName(HYPERNET_IO.down)]: { type: 'float32', dims: out[HYPERNET_IO.down].dims, data: seedDown },
          [gradName(HYPERNET_IO.up)]: { type: 'float32', dims: out[HYPERNET_IO.up].dims, data: seedUp },
          ...feeds(),
        }, names.map(gradName));
        for (const n of names) {
          const g = back[gradName(n)].data as Float32Array, acc = grads[n];
          for (let i = 0; i < acc.length; i++) acc[i] += g[i] / batch;
        }
        denoising += loss / batch;
        weight += w / batch;
      }
      return { loss: alpha * denoising + beta * weight, grads, parts: { denoising, weightSpace: weight } };
    };

    const lr = o.lr ?? HYPERNET_DEFAULTS.lr;
    const seed = o.seed ?? HYPERNET_DEFAULTS.seed;
    const result = await trainLoop({
      stage: 'hypernet',
      runDir: o.out,
      steps: o.steps,
      lr,
      seed,
      params: lifted.params,
      config: { pack: manifest.id, packFiles: manifest.files.map((f) => f.sha256), shard: shard.index.sha256 ?? null, identities: items.length, lr, batch, alpha, beta, seed },
      checkpointEvery: o.checkpointEvery ?? HYPERNET_DEFAULTS.checkpointEvery,
      resume: o.resume ?? false,
      step,
      progress: o.progress,
    });
    const packDir = join(o.out, 'pack');
    rmSync(packDir, { recursive: true, force: true });
    writePack(packDir, repackWithWeights(pack, { hypernet: lifted.params }, {
      description: `${manifest.description}; hypernetwork trained ${result.step} steps (α ${alpha}, β ${beta}) on ${items.length} identities`,
    }));
    return { ...result, packDir, identities: items.length };
  } finally {
    await Promise.all([forward.release(), backward.release(), graphs.release()]);
  }
}
