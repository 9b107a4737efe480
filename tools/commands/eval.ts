// `hyperbooth eval …`: the paper's Table 1 on held-out synthetic identities (resumable, sharded,
// merged), the README table from its JSON, and the scorers: train-embedder, check-scorers, fit.
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../src/files/atomicWrite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, parseArgs, UsageError, type ParsedArgs } from '../args';
import { deflateSync } from 'node:zlib';
import { encodePng, isStyle, STYLES, type Style } from '../../src/dataset';
import { contactSheet } from '../../src/eval/contactSheet';
import { SCHEDULER_NAMES, type SchedulerName } from '../../src/diffusion/schedulers';
import { measureAccuracy } from '../../src/eval/accuracy';
import { DEFAULT_EVAL, renderedStyles, runEvaluation, validateEvalSettings, type EvalScorers, type EvalSettings, type IdentityImages } from '../../src/eval/evaluate';
import { loadIdentityEmbedder } from '../../src/eval/embedder/embedder';
import { learningRates, methodNames, selectMethods } from '../../src/eval/methods';
import { shardIdentities, type EvalResult } from '../../src/eval/results';
import { mergeRuns, openRun, rescoreRun, writeResult } from '../../src/eval/runStore';
import { renderTable, replaceTable } from '../../src/eval/table';
import { parseShardSpec } from '../../src/training/lidbStage';
import { DEFAULT_FIT, fitScorers, parseScorers, scorersFromModel, serializeScorers, type ScorersModel } from '../../src/eval/scorers';
import { loadPackFromDisk } from '../../src/packs/node';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import type { Runtime } from '../../src/runtime/types';
import { CHECK_SCORERS_USAGE, DEFAULT_EMBEDDER, readEmbedderFile, runCheckScorers, runTrainEmbedder, TRAIN_EMBEDDER_USAGE } from './evalEmbedder';
import { createHash } from 'node:crypto';
import { runTraits, TRAITS_USAGE } from './evalTraits';

export const summary = 'Table 1 on held-out synthetic identities: eval --pack <dir> --seed S --out <run dir> [--json f]; eval merge|table|check-scorers|train-embedder|fit|traits';

export const DEFAULT_SCORERS = fileURLToPath(new URL('../../public/models/eval/scorers.json', import.meta.url));

const USAGE = `usage: hyperbooth eval --pack <dir> --seed <S> --out <run dir> [--ids ${DEFAULT_EVAL.ids}] [--seeds ${DEFAULT_EVAL.seeds}]
                      [--steps-image ${DEFAULT_EVAL.stepsImage}] [--styles all|a,b,…] [--methods a,b,…] [--shard i/n] [--json <file>]
                      [--ft-steps ${DEFAULT_EVAL.ftSteps}] [--lidb-steps ${DEFAULT_EVAL.lidbSteps}] [--lr <one for all; default each method's own>] [--max-steps N] [--rank ${DEFAULT_EVAL.rank}] [--guidance ${DEFAULT_EVAL.guidance}]
                      [--scheduler ddim|euler|dpmpp2m] [--embedder <onnx>] [--scorers <scorers.json>] [--images <dir>] [--threads N]
       hyperbooth eval merge <run dir>… [--json <file>]
       hyperbooth eval rescore <run dir> --out <new run dir> [--ids N] [--embedder <onnx>] [--scorers <json>] [--json <file>]
       hyperbooth eval table --json <eval json> [--readme README.md]
       hyperbooth eval fit [--out <scorers.json>] [--ids 200] [--photos 6] [--check-ids 100]
       ${TRAIN_EMBEDDER_USAGE}
       ${CHECK_SCORERS_USAGE}
       ${TRAITS_USAGE}
  Personalizes each held-out identity of world S (identitySeed('heldout', i, S)) from one
  rendered selfie with each method, generates it in each style with --seeds noise seeds, and
  scores identity (the CNN embedder's cosine to the selfie, [-1,1]), style (the classifier's
  probability of the asked style, [0,1]) and similarity (descriptor cosine, [-1,1]), with 95%
  bootstrap intervals over identities. seconds = personalization time per identity.
  Each identity's results are written to <run dir> as it finishes: rerunning the same command
  resumes; --shard i/n takes identities i, i+n, …; 'eval merge' aggregates shards' run dirs.
  methods: ${methodNames().join(', ')}
  styles: ${STYLES.join(', ')}`;

function numberFlag(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = v === true ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got ${v === true ? 'nothing' : `'${v}'`}`);
  return n;
}

function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

const KNOWN = new Set(['pack', 'ids', 'seed', 'seeds', 'out', 'json', 'steps-image', 'ft-steps', 'lidb-steps', 'lr', 'max-steps', 'rank', 'guidance', 'scheduler', 'styles', 'methods', 'shard', 'embedder', 'scorers', 'images', 'threads']);
const KNOWN_FIT = new Set(['out', 'ids', 'photos', 'check-ids']);

async function runFit(args: ParsedArgs): Promise<number> {
  for (const k of Object.keys(args.flags)) if (!KNOWN_FIT.has(k)) throw new UsageError(`unknown flag --${k}`);
  const out = resolve(stringFlag(args, 'out') ?? DEFAULT_SCORERS);
  const settings = { ...DEFAULT_FIT, ids: intFlag(args, 'ids', DEFAULT_FIT.ids), photos: intFlag(args, 'photos', DEFAULT_FIT.photos) };
  if (settings.ids < 2 || settings.photos < 1) throw new UsageError('--ids must be ≥ 2 and --photos ≥ 1');
  const checkIds = intFlag(args, 'check-ids', 100);
  if (checkIds < 2) throw new UsageError('--check-ids must be ≥ 2');
  const t0 = Date.now();
  const model = fitScorers(settings, (p) => {
    if (p.stage === 'render') process.stderr.write(`\rrendering training identities ${p.done}/${p.total}`);
    else process.stderr.write(`\nfitting ${p.stage}`);
  });
  process.stderr.write(`\nfitted in ${((Date.now() - t0) / 1000).toFixed(1)} s; measuring on ${checkIds} held-out identities (world 1)\n`);
  const acc = measureAccuracy(scorersFromModel(model), { ids: checkIds, worldSeed: 1 });
  model.accuracy = { ...acc };
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, serializeScorers(model));
  console.log(JSON.stringify(acc, null, 2));
  console.log(`wrote ${out}`);
  return 0;
}

function readScorersFile(path: string | undefined): ScorersModel {
  const scorersPath = resolve(path ?? DEFAULT_SCORERS);
  let text: string;
  try {
    text = readFileSync(scorersPath, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the scorers ${scorersPath} (make them with 'hyperbooth eval fit'): ${(e as Error).message}`);
  }
  return parseScorers(text);
}

function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
  console.log(`wrote ${path}`);
}

function listFlag(args: ParsedArgs, name: string): string[] | undefined {
  const text = stringFlag(args, name);
  return text === undefined || text === 'all' ? undefined : text.split(',').map((s) => s.trim()).filter(Boolean);
}

function settingsFromArgs(args: ParsedArgs): EvalSettings {
  const scheduler = stringFlag(args, 'scheduler') ?? DEFAULT_EVAL.scheduler;
  if (!(SCHEDULER_NAMES as readonly string[]).includes(scheduler)) throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(', ')}`);
  const styles = listFlag(args, 'styles') ?? [...DEFAULT_EVAL.styles];
  for (const s of styles) if (!isStyle(s)) throw new UsageError(`unknown style '${s}' (styles: ${STYLES.join(', ')})`);
  let methods: string[];
  try {
    methods = selectMethods(listFlag(args, 'methods')).map((m) => m.name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const settings: EvalSettings = {
    ids: intFlag(args, 'ids', DEFAULT_EVAL.ids),
    seed: intFlag(args, 'seed'),
    seeds: intFlag(args, 'seeds', DEFAULT_EVAL.seeds),
    stepsImage: intFlag(args, 'steps-image', DEFAULT_EVAL.stepsImage),
    ftSteps: intFlag(args, 'ft-steps', DEFAULT_EVAL.ftSteps),
    lidbSteps: intFlag(args, 'lidb-steps', DEFAULT_EVAL.lidbSteps),
    ...(args.flags.lr !== undefined ? { learningRate: numberFlag(args, 'lr', NaN) } : {}),
    ...(args.flags['max-steps'] !== undefined ? { maxSteps: intFlag(args, 'max-steps') } : {}),
    rank: intFlag(args, 'rank', DEFAULT_EVAL.rank),
    guidance: numberFlag(args, 'guidance', DEFAULT_EVAL.guidance),
    scheduler: scheduler as SchedulerName,
    styles: styles as Style[],
    methods,
  };
  try {
    validateEvalSettings(settings);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return settings;
}

/** The scorer files named by --embedder and --scorers (or the committed ones), their hashes, and a loader. */
function scorerFiles(args: ParsedArgs) {
  const scorersPath = resolve(stringFlag(args, 'scorers') ?? DEFAULT_SCORERS);
  const style = scorersFromModel(readScorersFile(scorersPath));
  const embedderBytes = readEmbedderFile(resolve(stringFlag(args, 'embedder') ?? DEFAULT_EMBEDDER));
  return {
    key: { embedderSha256: createHash('sha256').update(embedderBytes).digest('hex'), scorersSha256: fileSha256(scorersPath) },
    load: async (runtime: Runtime): Promise<EvalScorers> => ({
      identity: await loadIdentityEmbedder(runtime, embedderBytes), styleProbabilities: style.styleProbabilities, descriptor: style.descriptor,
    }),
  };
}

async function runRescore(args: ParsedArgs): Promise<number> {
  for (const k of Object.keys(args.flags)) if (!['out', 'embedder', 'scorers', 'json', 'ids'].includes(k)) throw new UsageError(`unknown flag --${k}`);
  const from = args.positional[1];
  const out = stringFlag(args, 'out');
  if (!from || !out) throw new UsageError('eval rescore needs <run dir> and --out <new run dir>');
  const files = scorerFiles(args);
  const scorers = await files.load(createNodeRuntime({ backend: 'cpu' }));
  try {
    const size = scorers.identity.imageSize;
    const ids = args.flags.ids === undefined ? undefined : intFlag(args, 'ids');
    const n = await rescoreRun(from, out, scorers, files.key, size, ids).catch((e: Error) => { throw new UsageError(e.message); });
    console.log(`rescored ${n} identities of ${from} into ${out}`);
  } finally {
    await scorers.identity.release();
  }
  const { result } = mergeRuns([out]);
  printResult(result);
  const json = stringFlag(args, 'json');
  if (json) writeJson(json, result);
  return 0;
}

function printResult(result: EvalResult): void {
  console.log(renderTable(result));
  console.log('(renders) = the renderer\'s own images of the identities in those styles, scored the same way: what a perfect personalization would reach');
}

async function runMerge(args: ParsedArgs): Promise<number> {
  for (const k of Object.keys(args.flags)) if (k !== 'json') throw new UsageError(`unknown flag --${k}`);
  const dirs = args.positional.slice(1);
  if (!dirs.length) throw new UsageError('eval merge needs the run folders of the shards');
  let merged;
  try {
    merged = mergeRuns(dirs);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  printResult(merged.result);
  const json = stringFlag(args, 'json');
  if (json) writeJson(json, merged.result);
  return 0;
}

async function runTable(args: ParsedArgs): Promise<number> {
  for (const k of Object.keys(args.flags)) if (k !== 'json' && k !== 'readme') throw new UsageError(`unknown flag --${k}`);
  const json = stringFlag(args, 'json');
  if (!json) throw new UsageError('eval table needs --json <eval json>');
  const readme = resolve(stringFlag(args, 'readme') ?? 'README.md');
  const table = renderTable(JSON.parse(readFileSync(json, 'utf8')) as EvalResult);
  try {
    writeFileAtomic(readme, replaceTable(readFileSync(readme, 'utf8'), table));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  console.log(`${table}\n\nwrote the table into ${readme}`);
  return 0;
}

async function runTable1Evaluation(args: ParsedArgs): Promise<number> {
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  for (const k of Object.keys(args.flags)) if (!KNOWN.has(k)) throw new UsageError(`unknown flag --${k}`);
  const packDir = stringFlag(args, 'pack');
  if (!packDir) throw new UsageError('missing --pack <dir>');
  const out = stringFlag(args, 'out');
  if (!out) throw new UsageError('missing --out <run dir> (each identity\'s results are kept there, so a killed run resumes)');
  const settings = settingsFromArgs(args);
  const shardText = stringFlag(args, 'shard');
  let shard = { index: 0, count: 1 };
  if (shardText !== undefined) {
    try {
      shard = parseShardSpec(shardText);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  // --threads: onnxruntime's intra-op threads (a background evaluation on a shared machine asks for one)
  const threads = args.flags.threads === undefined ? undefined : numberFlag(args, 'threads', 0);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new UsageError(`--threads must be a positive integer, got ${args.flags.threads}`);
  const files = scorerFiles(args);
  const pack = await loadPackFromDisk(packDir);
  let done;
  try {
    done = openRun(out, { settings, pack: { id: pack.manifest.id, files: pack.manifest.files.map((f) => f.sha256) }, scorers: files.key, rates: learningRates(settings) });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const have = new Set(done.map((r) => r.identity));
  const todo = shardIdentities(settings.ids, shard).filter((i) => !have.has(i));
  const runtime = createNodeRuntime({ backend: 'cpu', ...(threads ? { intraOpNumThreads: threads } : {}) });
  const scorers = await files.load(runtime);
  const embedder = scorers.identity;
  const imagesDir = stringFlag(args, 'images');
  if (imagesDir) mkdirSync(imagesDir, { recursive: true });
  const size = pack.manifest.image.width;
  const writeSheet = ({ identity, reference, methods }: IdentityImages) => {
    const sheet = contactSheet(reference, [...settings.methods.map((m) => ({ images: methods[m] })), { images: renderedStyles(identity, settings, size) }]);
    writeFileAtomic(resolve(imagesDir!, `identity-${identity}.png`), encodePng(sheet, { rgb: true, deflate: (b) => deflateSync(b) }));
  };
  console.log(`pack ${pack.manifest.id} (${pack.manifest.name}); ${todo.length} identities to evaluate` +
    `${shard.count > 1 ? ` in shard ${shard.index}/${shard.count}` : ''}${have.size ? ` (${have.size} already in ${out})` : ''}`);
  const t0 = Date.now();
  try {
    await runEvaluation(runtime, pack, scorers, settings, todo, {
      onProgress: (p) => process.stderr.write(`\ridentity ${p.identity} (${p.done + 1}/${p.total}): ${p.method} (${p.phase})`.padEnd(70)),
      onIdentity: (r, images) => writeResult(out, r, images, settings),
      ...(imagesDir ? { onImages: writeSheet } : {}),
    });
  } finally {
    await embedder.release();
  }
  process.stderr.write('\n');
  console.log(`evaluated ${todo.length} identities in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (imagesDir) console.log(`wrote contact sheets to ${imagesDir} (rows: selfie | ${settings.methods.join(', ')}, renders; columns: ${settings.styles.join(', ')}; seed 0)`);
  if (shard.count > 1) {
    console.log(`shard ${shard.index}/${shard.count} done; when every shard is, run: hyperbooth eval merge ${out} [other shards' run dirs] --json <file>`);
    return 0;
  }
  const { result } = mergeRuns([out]);
  printResult(result);
  const jsonPath = stringFlag(args, 'json');
  if (jsonPath) writeJson(jsonPath, result);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  try {
    if (args.flags.help || args.flags.h) { console.log(USAGE); return 0; }
    switch (args.positional[0]) {
      case 'fit': return await runFit(args);
      case 'train-embedder': return await runTrainEmbedder(args, argv);
      case 'check-scorers': return await runCheckScorers(args, (path) => scorersFromModel(readScorersFile(path)).styleProbabilities);
      case 'merge': return await runMerge(args);
      case 'rescore': return await runRescore(args);
      case 'table': return await runTable(args);
      case 'traits': return await runTraits(args);
      default: return await runTable1Evaluation(args);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`hyperbooth eval: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
