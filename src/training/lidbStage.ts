// `train lidb`: HyperDreamBooth's pre-optimized θ* — one rank-1 LiDB per training identity,
// fitted with Adam on the denoising loss of the identity's photos ("a <trigger> face", the
// fine-tune prompt) from a fresh LiDB (D_train xavier, U_train 0). These are the weight-space
// targets of the hypernetwork stage. One file per identity (<out>/id00012.lidb.safetensors,
// written atomically), so a rerun skips what is done and `--shard i/n` splits the identities
// (index % n == i) across processes or machines.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../diffusion/random';
import { drawNoise } from '../finetune/draws';
import { lidbGradRecord, lidbParams, firstNonFinite } from '../finetune/lidbParams';
import { trainStep } from '../finetune/trainStep';
import { writeLidbFile } from '../lidb/file';
import { initLidb, type Lidb } from '../lidb/lidb';
import { LidbRng } from '../lidb/random';
import { loadPackFromDisk } from '../packs/node';
import { openFineTuneGraphs, personalizePrompt } from '../finetune/fineTuneGraphs';
import type { Runtime } from '../runtime/types';
import { shardImage, type Shard } from '../dataset/shard';
import { Adam } from '../finetune/adam';
import { writeFileAtomic } from './checkpoint';
import { openShard } from './data';
import { appendJsonl, Ema } from './progress';
import type { StageRunOptions } from './loop';

export interface ShardSpec { index: number; count: number }

export function parseShardSpec(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new Error(`--shard must be i/n with 0 ≤ i < n (e.g. 0/4), got ${JSON.stringify(text)}`);
  return { index, count };
}

export const lidbTargetName = (identityIndex: number): string => `id${String(identityIndex).padStart(5, '0')}.lidb.safetensors`;

/** The records a θ* is fitted on: the identity's photos in the plain 'photo' style. */
export function identityPhotoRecords(shard: Shard, identity: number): number[] {
  const out: number[] = [];
  shard.index.records.forEach((r, i) => { if (r.identity === identity && r.style === 'photo') out.push(i); });
  return out;
}

export interface LidbRunOptions extends StageRunOptions {
  shard?: ShardSpec;
}

/**
 * 300 steps as in the paper. The learning rate was measured on the random-weight tiny pack (2
 * identities × 2 photos, 300 steps, seed 0; held-out denoising loss over 32 fixed (t, ε) draws
 * per identity, 1.2926 at the fresh LiDB): lr 1e-3 (the paper's) 0.9581, 3e-3 0.8104, 1e-2
 * 0.7421. A trained pack needs its own measurement; --lr overrides.
 */
export const LIDB_DEFAULTS = { steps: 300, lr: 1e-2, seed: 0, split: 'train' } as const;

export interface LidbRunResult {
  /** identity indices (within the split) fitted by this run */
  fitted: number[];
  /** identity indices of this shard already done before the run */
  skipped: number[];
  msPerStep: number;
  /** per fitted identity: mean loss of the first and the last 10% of the steps */
  lossFirst: number[];
  lossLast: number[];
}

export async function runLidb(runtime: Runtime, o: LidbRunOptions): Promise<LidbRunResult> {
  const steps = o.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${steps}`);
  const lr = o.lr ?? LIDB_DEFAULTS.lr;
  if (!(lr > 0)) throw new Error(`--lr must be positive, got ${lr}`);
  const seed = o.seed ?? LIDB_DEFAULTS.seed;
  const part = o.shard ?? { index: 0, count: 1 };
  const pack = await loadPackFromDisk(o.pack);
  const { manifest } = pack;
  if (!manifest.lidb) throw new Error(`pack "${manifest.id}" has no LiDB aux bases`);
  const shard = openShard(o.data, o.split ?? LIDB_DEFAULTS.split, manifest);
  mkdirSync(o.out, { recursive: true });
  const graphs = openFineTuneGraphs(runtime, pack);
  const result: LidbRunResult = { fitted: [], skipped: [], msPerStep: 0, lossFirst: [], lossLast: [] };
  let totalMs = 0, totalSteps = 0;
  try {
    const sessions = await graphs.train();
    const layers = manifest.lora.layers;
    const mine = shard.index.identities.map((id, k) => ({ id, k })).filter(({ id }) => id.index % part.count === part.index);
    for (const { id, k } of mine) {
      const path = join(o.out, lidbTargetName(id.index));
      if (existsSync(path)) { result.skipped.push(id.index); continue; }
      const recs = identityPhotoRecords(shard, k);
      if (recs.length === 0) throw new Error(`identity ${id.index} has no 'photo'-style record in the shard (render it with the photo style)`);
      const latents = [];
      for (const r of recs) latents.push(await graphs.encodeLatent(shardImage(shard, r)));
      const contexts = latents.map((l) => graphs.context(l));
      // Every identity starts from the same LiDB (the run's seed), so θ* − θ*' is what tells two
      // faces apart and the hypernetwork's weight-space target holds no per-identity init noise
      // it could never predict from a face. The draws are seeded by the identity, not its
      // position in this shard: any split gives the same θ*.
      const idSeed = seed * 1_000_003 + id.index;
      const lidb: Lidb = initLidb(layers, 1, new LidbRng(seed, 'init'));
      const params = lidbParams(lidb);
      const adam = new Adam(params, { lr });
      const rng = new SeededRandom(idSeed);
      const ema = new Ema(0.9);
      const losses: number[] = [];
      const t0 = performance.now();
      for (let s = 1; s <= steps; s++) {
        const ctx = contexts[Math.min(contexts.length - 1, Math.floor(rng.random() * contexts.length))];
        const draw = drawNoise(rng, manifest.schedule.numTrainTimesteps, ctx.latent.length);
        const { loss, grads } = await trainStep(sessions, ctx, lidb, draw);
        if (!Number.isFinite(loss)) throw new Error(`identity ${id.index}, step ${s}: the loss is ${loss}`);
        const g = lidbGradRecord(lidb, grads);
        const bad = firstNonFinite(g);
        if (bad) throw new Error(`identity ${id.index}, step ${s}: non-finite gradient ${bad}`);
        adam.step(g);
        losses.push(loss);
        const elapsed = (performance.now() - t0) / 1000;
        o.progress?.update({ stage: `lidb id ${id.index} (${result.fitted.length + 1}/${mine.length - result.skipped.length})`, step: s, total: steps, lossEma: ema.update(loss), itPerSec: s / elapsed });
      }
      const ms = performance.now() - t0;
      totalMs += ms; totalSteps += steps;
      const tenth = Math.max(1, Math.floor(steps / 10));
      const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = avg(losses.slice(0, tenth)), last = avg(losses.slice(-tenth));
      writeFileAtomic(path, writeLidbFile(lidb, {
        packId: manifest.id,
        auxSha256: manifest.lidb.auxSha256,
        trigger: manifest.trigger,
        fineTune: { steps, learningRate: lr, rank: 1, optimizer: 'adam', prompt: personalizePrompt(manifest.trigger), start: 'init', initSeed: seed, identity: id.index, identitySeed: id.seed, photos: recs.length, lossFirst: first, lossLast: last },
        seed: idSeed,
      }));
      appendJsonl(join(o.out, 'log.jsonl'), { identity: id.index, steps, lossFirst: first, lossLast: last, ms: Math.round(ms) });
      result.fitted.push(id.index);
      result.lossFirst.push(first);
      result.lossLast.push(last);
      o.progress?.done();
    }
  } finally {
    await graphs.release();
  }
  result.msPerStep = totalSteps ? totalMs / totalSteps : 0;
  return result;
}
