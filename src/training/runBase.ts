// The whole `train base` run: open the pack and shard, train, and write the trained pack to
// <run>/pack (a complete pack folder: load it with --pack in the next stage or the app).
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { loadPackFromDisk } from '../packs/node';
import { writePack } from '../packs/writePack';
import type { Runtime } from '../runtime/types';
import { createBaseTrainer } from './base';
import { openShard } from './data';
import { trainLoop, type CheckpointedRunOptions, type TrainLoopResult } from './loop';
import { repackWithWeights } from './packGraphs';

export interface BaseRunOptions extends CheckpointedRunOptions {
  kl?: number;
}

export const BASE_DEFAULTS = { lr: 1e-3, batch: 1, kl: 1e-6, seed: 0, checkpointEvery: 50, split: 'train' } as const;

export async function runBase(runtime: Runtime, o: BaseRunOptions): Promise<TrainLoopResult & { packDir: string }> {
  const batch = o.batch ?? BASE_DEFAULTS.batch;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${batch}`);
  const kl = o.kl ?? BASE_DEFAULTS.kl;
  if (!(kl >= 0)) throw new Error(`--kl must be a non-negative number, got ${kl}`);
  const pack = await loadPackFromDisk(o.pack);
  const shard = openShard(o.data, o.split ?? BASE_DEFAULTS.split, pack.manifest);
  const trainer = await createBaseTrainer(runtime, pack, shard, { kl });
  try {
    const lr = o.lr ?? BASE_DEFAULTS.lr;
    const seed = o.seed ?? BASE_DEFAULTS.seed;
    const result = await trainLoop({
      stage: 'base',
      runDir: o.out,
      steps: o.steps,
      lr,
      seed,
      params: trainer.params,
      config: { pack: pack.manifest.id, packFiles: pack.manifest.files.map((f) => f.sha256), shard: shard.index.sha256 ?? null, lr, batch, kl, seed },
      checkpointEvery: o.checkpointEvery ?? BASE_DEFAULTS.checkpointEvery,
      resume: o.resume ?? false,
      step: (rng) => trainer.step(rng, batch),
      progress: o.progress,
    });
    const packDir = join(o.out, 'pack');
    rmSync(packDir, { recursive: true, force: true });
    writePack(packDir, repackWithWeights(pack, trainer.weightsByGraph(), {
      name: `${pack.manifest.name.replace(/ \(random weights\)$/, '')} (trained, ${result.step} steps)`,
      description: `${pack.manifest.description}; VAE, text encoder and UNet trained ${result.step} steps on synthetic portraits`,
    }));
    return { ...result, packDir };
  } finally {
    await trainer.release();
  }
}
