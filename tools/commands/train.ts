// `hyperbooth train <stage> …`: the training pipeline on onnxruntime-node (src/training).
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadPackFromDisk } from '../../src/packs/node';
import { openShard } from '../../src/training/data';
import { measureHypernetError, meanRows, readAllTargets, readTargets } from '../../src/training/hypernetTargets';
import { parseArgs, requireFlag, type ParsedArgs } from '../args';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { terminalProgress, type ProgressSink } from '../../src/training/progress';
import { runBase, BASE_DEFAULTS } from '../../src/training/runBase';
import { BASE_PARTS, type BasePart } from '../../src/training/base';
import { runLidb, LIDB_DEFAULTS, parseShardSpec } from '../../src/training/lidbStage';
import { runHypernet, HYPERNET_DEFAULTS } from '../../src/training/hypernetStage';

export const summary = 'train the pack: base (VAE, text encoder, UNet), lidb (θ* per identity), hypernet (--pack DIR --data SHARD --out DIR --steps N …)';

const USAGE = `usage:
  hyperbooth train base --pack DIR --data SHARD_DIR --out RUN_DIR --steps N [--lr ${BASE_DEFAULTS.lr}] [--batch ${BASE_DEFAULTS.batch}] [--kl ${BASE_DEFAULTS.kl}] [--parts vae,unet|decoder] [--latent-scale auto|N] [--decay-steps N (cosine)] [--onto PACK_DIR (--parts decoder: write the decoder onto this finished pack)] [--seed 0] [--split train] [--checkpoint-every ${BASE_DEFAULTS.checkpointEvery}] [--resume] [--quiet]
  hyperbooth train lidb --pack DIR --data SHARD_DIR --out DIR [--steps ${LIDB_DEFAULTS.steps}] [--lr ${LIDB_DEFAULTS.lr}] [--shard i/n] [--seed 0] [--split train] [--quiet]
      (one θ* file per identity; identities already in --out are skipped)
  hyperbooth train hypernet --pack DIR --data SHARD_DIR --targets THETA_DIR --out RUN_DIR --steps N [--lr ${HYPERNET_DEFAULTS.lr}] [--batch ${HYPERNET_DEFAULTS.batch}] [--alpha ${HYPERNET_DEFAULTS.alpha}] [--beta ${HYPERNET_DEFAULTS.beta}] [--seed 0] [--split train] [--checkpoint-every ${HYPERNET_DEFAULTS.checkpointEvery}] [--resume] [--quiet]
  hyperbooth train check-hypernet --pack DIR --data SHARD_DIR --targets THETA_DIR --mean-of TRAIN_THETA_DIR [--split heldout] [--json FILE]
      (weight-space error of the pack's hypernetwork on the shard's people with a θ*, against always predicting the mean θ* of --mean-of)
  every stage also takes [--threads N] (onnxruntime intra-op threads; default all cores)`;

const LIDB_FLAGS = ['pack', 'data', 'out', 'steps', 'lr', 'shard', 'seed', 'split', 'quiet'];
const HYPERNET_FLAGS = ['pack', 'data', 'targets', 'out', 'steps', 'lr', 'batch', 'alpha', 'beta', 'seed', 'split', 'checkpoint-every', 'resume', 'quiet'];
const CHECK_HYPERNET_FLAGS = ['pack', 'data', 'targets', 'mean-of', 'split', 'json'];
const BASE_FLAGS = ['pack', 'data', 'out', 'steps', 'lr', 'batch', 'kl', 'parts', 'latent-scale', 'decay-steps', 'onto', 'seed', 'split', 'checkpoint-every', 'resume', 'quiet'];

function checkFlags(args: ParsedArgs, allowed: string[]): void {
  const unknown = Object.keys(args.flags).filter((f) => !allowed.includes(f));
  if (unknown.length) throw new Error(`unknown flag${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => `--${f}`).join(', ')}\n${USAGE}`);
  if (args.positional.length) throw new Error(`unexpected argument ${args.positional[0]}\n${USAGE}`);
}

export function intFlag(args: ParsedArgs, name: string, fallback?: number, min = 1): number {
  const v = args.flags[name];
  if (v === undefined) {
    if (fallback === undefined) throw new Error(`missing --${name} <integer>`);
    return fallback;
  }
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function numberFlag<F extends number | undefined>(args: ParsedArgs, name: string, fallback: F, positive = true): number | F {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (positive ? !(n > 0) : n < 0)) {
    throw new Error(`--${name} must be a ${positive ? 'positive' : 'non-negative'} number, got ${JSON.stringify(v)}`);
  }
  return n;
}

function partsFlag(args: ParsedArgs): BasePart[] | undefined {
  const v = args.flags.parts;
  if (v === undefined) return undefined;
  const parts = String(v).split(',').map((p) => p.trim());
  const bad = parts.filter((p) => !(BASE_PARTS as readonly string[]).includes(p));
  if (typeof v !== 'string' || bad.length || new Set(parts).size !== parts.length) {
    throw new Error(`--parts takes a comma list of ${BASE_PARTS.join(', ')} without repeats, got ${JSON.stringify(v)}`);
  }
  return parts as BasePart[];
}

/** The flags every stage takes (StageRunOptions); `steps` has a default only where the stage has one. */
function stageFlags(args: ParsedArgs, defaults: { lr: number; seed: number; steps?: number }, progress: ProgressSink) {
  return {
    pack: resolve(requireFlag(args, 'pack')),
    data: resolve(requireFlag(args, 'data')),
    split: typeof args.flags.split === 'string' ? args.flags.split : undefined,
    out: resolve(requireFlag(args, 'out')),
    steps: intFlag(args, 'steps', defaults.steps),
    lr: numberFlag(args, 'lr', defaults.lr),
    seed: intFlag(args, 'seed', defaults.seed, 0),
    progress,
  };
}

/** "steps 251..500 at 0.05 s/step", or what a resume of a finished run did */
function stepsText(r: { startStep: number; step: number; msPerStep: number }): string {
  return r.step > r.startStep ? `steps ${r.startStep + 1}..${r.step} at ${(r.msPerStep / 1000).toFixed(2)} s/step` : `already at step ${r.step}, nothing to train`;
}

export async function run(argv: string[]): Promise<number> {
  const [stage, ...rest] = argv;
  const args = parseArgs(rest, ['resume', 'quiet']);
  const progress = terminalProgress(args.flags.quiet ? null : process.stderr);
  // --threads: onnxruntime's intra-op threads (its default takes every core; background runs
  // on a shared machine ask for one)
  const threads = args.flags.threads === undefined ? undefined : intFlag(args, 'threads');
  delete args.flags.threads;
  const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: threads });
  switch (stage) {
    case 'base': {
      checkFlags(args, BASE_FLAGS);
      const r = await runBase(runtime, {
        ...stageFlags(args, BASE_DEFAULTS, progress),
        batch: intFlag(args, 'batch', BASE_DEFAULTS.batch),
        kl: numberFlag(args, 'kl', BASE_DEFAULTS.kl, false),
        parts: partsFlag(args),
        latentScale: args.flags['latent-scale'] === 'auto' ? 'auto' : numberFlag(args, 'latent-scale', undefined),
        decaySteps: args.flags['decay-steps'] === undefined ? undefined : intFlag(args, 'decay-steps'),
        onto: args.flags.onto === undefined ? undefined : resolve(requireFlag(args, 'onto')),
        checkpointEvery: intFlag(args, 'checkpoint-every', BASE_DEFAULTS.checkpointEvery),
        resume: args.flags.resume === true,
      });
      console.log(`base: ${stepsText(r)}; latent scale ${r.latentScale}; trained pack → ${r.packDir}`);
      return 0;
    }
    case 'lidb': {
      checkFlags(args, LIDB_FLAGS);
      const r = await runLidb(runtime, {
        ...stageFlags(args, LIDB_DEFAULTS, progress),
        shard: args.flags.shard === undefined ? undefined : parseShardSpec(String(args.flags.shard)),
      });
      const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
      console.log(`lidb: fitted ${r.fitted.length} identities (skipped ${r.skipped.length} done before) at ${r.msPerStep.toFixed(1)} ms/step; mean loss first 10% ${mean(r.lossFirst).toFixed(4)} → last 10% ${mean(r.lossLast).toFixed(4)}`);
      return 0;
    }
    case 'hypernet': {
      checkFlags(args, HYPERNET_FLAGS);
      const r = await runHypernet(runtime, {
        ...stageFlags(args, HYPERNET_DEFAULTS, progress),
        targets: resolve(requireFlag(args, 'targets')),
        batch: intFlag(args, 'batch', HYPERNET_DEFAULTS.batch),
        alpha: numberFlag(args, 'alpha', HYPERNET_DEFAULTS.alpha, false),
        beta: numberFlag(args, 'beta', HYPERNET_DEFAULTS.beta, false),
        checkpointEvery: intFlag(args, 'checkpoint-every', HYPERNET_DEFAULTS.checkpointEvery),
        resume: args.flags.resume === true,
      });
      console.log(`hypernet: ${r.identities} identities, ${stepsText(r)}; pack with the trained hypernetwork → ${r.packDir}`);
      return 0;
    }
    case 'check-hypernet': {
      checkFlags(args, CHECK_HYPERNET_FLAGS);
      const pack = await loadPackFromDisk(resolve(requireFlag(args, 'pack')));
      const shard = openShard(resolve(requireFlag(args, 'data')), typeof args.flags.split === 'string' ? args.flags.split : 'heldout', pack.manifest);
      const targets = resolve(requireFlag(args, 'targets')), meanOf = resolve(requireFlag(args, 'mean-of'));
      for (const [flag, dir] of [['--targets', targets], ['--mean-of', meanOf]]) if (!existsSync(dir)) throw new Error(`${flag} ${dir}: no such folder of θ* files ('hyperbooth train lidb --out' writes one)`);
      const items = readTargets(pack, shard, targets);
      const training = readAllTargets(pack, meanOf);
      const r = await measureHypernetError(runtime, pack, items, meanRows(training), shard);
      console.log(`check-hypernet: ${r.identities} people with a θ*; weight-space error of the hypernetwork ${r.hypernet.toPrecision(4)}, of the mean θ* of ${training.length} training identities ${r.meanTheta.toPrecision(4)}; ratio ${r.ratio.toFixed(3)} (issue 15's target ≤ 0.5)`);
      if (typeof args.flags.json === 'string') writeFileSync(resolve(args.flags.json), `${JSON.stringify({ pack: pack.manifest.id, targets, meanOf, meanOfCount: training.length, ...r }, null, 2)}\n`);
      return 0;
    }
    default:
      throw new Error(`${stage ? `unknown stage '${stage}'` : 'no stage given'}\n${USAGE}`);
  }
}
