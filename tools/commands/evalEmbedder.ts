// `hyperbooth eval train-embedder`: trains the identity embedder the identity scorer uses and
// writes it (weights only, the class head dropped) with a training.json recording the command,
// the training time summed over resumed runs, the final loss and the file's sha256.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../src/files/atomicWrite';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, UsageError, type ParsedArgs } from '../args';
import { encodeModel } from '../../src/onnx';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { embedderWithWeights } from '../../src/eval/embedder/model';
import { EMBEDDER_TRAIN_DEFAULTS, trainEmbedder } from '../../src/eval/embedder/train';
import { checkScorers, type StyleScorer } from '../../src/eval/checkScorers';
import { loadIdentityEmbedder } from '../../src/eval/embedder/embedder';
import { LOG_FILE } from '../../src/training/loop';
import { terminalProgress } from '../../src/training/progress';

export const DEFAULT_EMBEDDER = fileURLToPath(new URL('../../public/models/eval/identity-embedder.onnx', import.meta.url));

export const TRAIN_EMBEDDER_USAGE = `hyperbooth eval train-embedder --out <run dir> --steps N [--ids ${EMBEDDER_TRAIN_DEFAULTS.ids}] [--photos ${EMBEDDER_TRAIN_DEFAULTS.photos}]
                      [--batch ${EMBEDDER_TRAIN_DEFAULTS.batch}] [--views ${EMBEDDER_TRAIN_DEFAULTS.views}] [--lr ${EMBEDDER_TRAIN_DEFAULTS.lr}] [--decay-steps N (cosine schedule)]
                      [--seed 0] [--checkpoint-every ${EMBEDDER_TRAIN_DEFAULTS.checkpointEvery}] [--threads N]
                      [--resume] [--export public/models/eval/identity-embedder.onnx] [--quiet]`;

const COMMANDS_FILE = 'commands.jsonl';

const FLAGS = new Set(['out', 'steps', 'ids', 'photos', 'batch', 'views', 'lr', 'decay-steps', 'seed', 'checkpoint-every', 'threads', 'resume', 'export', 'quiet']);

function positiveNumber(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = v === true ? NaN : Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} expects a positive number, got ${v === true ? 'nothing' : `'${v}'`}`);
  return n;
}

export async function runTrainEmbedder(args: ParsedArgs, argv: string[]): Promise<number> {
  for (const k of Object.keys(args.flags)) if (!FLAGS.has(k)) throw new UsageError(`unknown flag --${k}`);
  const out = args.flags.out;
  if (typeof out !== 'string') throw new UsageError('missing --out <run dir>');
  const exportPath = resolve(typeof args.flags.export === 'string' ? args.flags.export : DEFAULT_EMBEDDER);
  const d = EMBEDDER_TRAIN_DEFAULTS;
  const steps = intFlag(args, 'steps');
  // every invocation of the run (the first, then each --resume), kept in the run dir for training.json
  mkdirSync(out, { recursive: true });
  appendFileSync(join(out, COMMANDS_FILE), `${JSON.stringify({ command: `nice -n 10 npx hyperbooth eval ${argv.join(' ')}`, started: new Date().toISOString() })}\n`);
  const decaySteps = args.flags['decay-steps'] === undefined ? undefined : intFlag(args, 'decay-steps');
  const threads = args.flags.threads === undefined ? undefined : intFlag(args, 'threads');
  const result = await trainEmbedder(createNodeRuntime({ backend: 'cpu', ...(threads ? { intraOpNumThreads: threads } : {}) }), {
    out,
    steps,
    ids: intFlag(args, 'ids', d.ids),
    photos: intFlag(args, 'photos', d.photos),
    batch: intFlag(args, 'batch', d.batch),
    views: intFlag(args, 'views', d.views),
    lr: positiveNumber(args, 'lr', d.lr),
    ...(decaySteps !== undefined ? { schedule: 'cosine' as const, decaySteps } : {}),
    seed: intFlag(args, 'seed', d.seed),
    temperature: d.temperature,
    checkpointEvery: intFlag(args, 'checkpoint-every', d.checkpointEvery),
    resume: args.flags.resume === true,
    progress: terminalProgress(args.flags.quiet ? null : process.stderr),
  });
  // time and loss from the run's log, which covers every resumed part of the run
  const log = existsSync(join(out, LOG_FILE))
    ? readFileSync(join(out, LOG_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; loss: number; ms: number })
    : [];
  const tail = log.slice(-Math.max(1, Math.floor(log.length / 10)));
  const head = log.slice(0, Math.max(1, Math.floor(log.length / 10)));
  const mean = (v: { loss: number }[]) => v.reduce((s, x) => s + x.loss, 0) / Math.max(1, v.length);
  const bytes = encodeModel(embedderWithWeights(result.config, result.params, { steps: result.step }));
  mkdirSync(dirname(exportPath), { recursive: true });
  writeFileAtomic(exportPath, bytes);
  const recordPath = join(dirname(exportPath), 'training.json');
  const commands = readFileSync(join(out, COMMANDS_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; started: string });
  const record = {
    commands,
    steps: result.step,
    trainSeconds: Math.round(log.reduce((s, x) => s + x.ms, 0) / 1000),
    lossFirstTenth: mean(head),
    lossLastTenth: mean(tail),
    file: exportPath.split('/').pop(),
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  writeFileAtomic(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  console.log(JSON.stringify(record, null, 2));
  return 0;
}

export const CHECK_SCORERS_USAGE = `hyperbooth eval check-scorers --seed S [--people 50] [--split heldout|val] [--embedder <onnx>] [--scorers <scorers.json>] [--json <file>]`;

const CHECK_FLAGS = new Set(['seed', 'people', 'split', 'embedder', 'scorers', 'json']);

export function readEmbedderFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot read the identity embedder ${path} (make it with 'hyperbooth eval train-embedder'): ${(e as Error).message}`);
  }
}

export async function runCheckScorers(args: ParsedArgs, readStyle: (path: string | undefined) => StyleScorer): Promise<number> {
  for (const k of Object.keys(args.flags)) if (!CHECK_FLAGS.has(k)) throw new UsageError(`unknown flag --${k}`);
  const seed = intFlag(args, 'seed');
  const people = intFlag(args, 'people', 50);
  if (people < 2) throw new UsageError('--people must be ≥ 2');
  const split = args.flags.split ?? 'heldout';
  // the training split is never a check: the embedder has seen those people
  if (split !== 'heldout' && split !== 'val') throw new UsageError(`--split must be heldout or val, got '${split === true ? '' : split}'`);
  const embedderPath = resolve(typeof args.flags.embedder === 'string' ? args.flags.embedder : DEFAULT_EMBEDDER);
  const style = readStyle(typeof args.flags.scorers === 'string' ? args.flags.scorers : undefined);
  const embedder = await loadIdentityEmbedder(createNodeRuntime({ backend: 'cpu' }), readEmbedderFile(embedderPath));
  try {
    const t0 = Date.now();
    const check = await checkScorers(embedder, style, { seed, people, split });
    console.log(JSON.stringify(check, null, 2));
    console.error(`checked ${people} ${split === 'val' ? 'validation' : 'held-out'} people of world ${seed} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (typeof args.flags.json === 'string') {
      mkdirSync(dirname(resolve(args.flags.json)), { recursive: true });
      writeFileAtomic(args.flags.json, `${JSON.stringify(check, null, 2)}\n`);
    }
    return 0;
  } finally {
    await embedder.release();
  }
}
