// `hyperbooth eval …`: the paper's Table 1 on held-out synthetic identities, and `eval fit`,
// which refits the scorers (identity recognizer, style classifier, image descriptor) it uses.
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
import { DEFAULT_EVAL, formatTable, METHODS, renderedStyles, runEvaluation, scoreRenderedUpperBound, validateEvalSettings, type EvalSettings, type IdentityImages } from '../../src/eval/evaluate';
import { DEFAULT_FIT, fitScorers, parseScorers, scorersFromModel, serializeScorers } from '../../src/eval/scorers';
import { loadPackFromDisk } from '../../src/packs/node';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';

export const summary = 'Table 1 on held-out synthetic identities: eval --pack <dir> --ids N --seed S [--json f]; eval fit refits the scorers';

export const DEFAULT_SCORERS = fileURLToPath(new URL('../../public/models/eval/scorers.json', import.meta.url));

const USAGE = `usage: hyperbooth eval --pack <dir> --ids <N> --seed <S> [--json <file>] [--steps-image 10]
                      [--ft-steps 40] [--db-steps 400] [--lr 0.001] [--rank 4] [--guidance 7.5]
                      [--scheduler ddim|euler|dpmpp2m] [--styles photo,pencil-sketch,pop-art,watercolor]
                      [--scorers <scorers.json>] [--images <dir>]
       hyperbooth eval fit [--out <scorers.json>] [--ids 200] [--photos 6] [--check-ids 100]
  Personalizes each held-out identity of world S (identitySeed('heldout', i, S)) from one
  rendered selfie with five methods — base (none), only-hyper, hyperdreambooth (hypernetwork +
  --ft-steps), no-hyper (--ft-steps from zero), dreambooth-400 (--db-steps from zero) — generates
  it in each style, and scores identity (recognizer cosine to the selfie, [-1,1]), style
  (classifier probability of the asked style, [0,1]) and similarity (descriptor cosine, [-1,1]).
  seconds = personalization time per identity, image generation excluded.
  --images writes <dir>/identity-<i>.png per identity: the selfie, then a row per method
  (base, only-hyper, hyperdreambooth, no-hyper, dreambooth-400) and the renderer's own styled
  images, one column per style.
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

const KNOWN = new Set(['pack', 'ids', 'seed', 'json', 'steps-image', 'ft-steps', 'db-steps', 'lr', 'rank', 'guidance', 'scheduler', 'styles', 'scorers', 'images']);
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

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  try {
    if (args.positional[0] === 'fit') return await runFit(args);
    if (args.flags.help || args.flags.h) { console.log(USAGE); return 0; }
    if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
    for (const k of Object.keys(args.flags)) if (!KNOWN.has(k)) throw new UsageError(`unknown flag --${k}`);
    const packDir = stringFlag(args, 'pack');
    if (!packDir) throw new UsageError('missing --pack <dir>');
    const scheduler = stringFlag(args, 'scheduler') ?? DEFAULT_EVAL.scheduler;
    if (!(SCHEDULER_NAMES as readonly string[]).includes(scheduler)) throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(', ')}`);
    const stylesText = stringFlag(args, 'styles');
    const styles = stylesText === undefined ? DEFAULT_EVAL.styles : stylesText.split(',').map((s) => s.trim()).filter(Boolean);
    for (const s of styles) if (!isStyle(s)) throw new UsageError(`unknown style '${s}' (styles: ${STYLES.join(', ')})`);
    const settings: EvalSettings = {
      ids: intFlag(args, 'ids'),
      seed: intFlag(args, 'seed'),
      stepsImage: intFlag(args, 'steps-image', DEFAULT_EVAL.stepsImage),
      ftSteps: intFlag(args, 'ft-steps', DEFAULT_EVAL.ftSteps),
      dbSteps: intFlag(args, 'db-steps', DEFAULT_EVAL.dbSteps),
      learningRate: numberFlag(args, 'lr', DEFAULT_EVAL.learningRate),
      rank: intFlag(args, 'rank', DEFAULT_EVAL.rank),
      guidance: numberFlag(args, 'guidance', DEFAULT_EVAL.guidance),
      scheduler: scheduler as SchedulerName,
      styles: styles as Style[],
    };
    try {
      validateEvalSettings(settings);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const scorersPath = resolve(stringFlag(args, 'scorers') ?? DEFAULT_SCORERS);
    let scorersText: string;
    try {
      scorersText = readFileSync(scorersPath, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read the scorers ${scorersPath} (make them with 'hyperbooth eval fit'): ${(e as Error).message}`);
    }
    const scorers = scorersFromModel(parseScorers(scorersText));
    const pack = await loadPackFromDisk(packDir);
    const acc = scorers.model.accuracy;
    if (acc) {
      console.log(`scorers (held-out renders): identity top-1 ${(acc.identityTop1 * 100).toFixed(0)}% (styled query ${(acc.identityTop1Styled * 100).toFixed(0)}%) among ${acc.identities}, verification AUC ${acc.identityAuc.toFixed(3)}; style accuracy ${(acc.styleAccuracy * 100).toFixed(1)}%`);
    }
    const imagesDir = stringFlag(args, 'images');
    if (imagesDir) mkdirSync(imagesDir, { recursive: true });
    const size = pack.manifest.image.width;
    const writeSheet = ({ identity, reference, methods }: IdentityImages) => {
      const sheet = contactSheet(reference, [...METHODS.map((m) => ({ images: methods[m] })), { images: renderedStyles(identity, settings, size) }]);
      writeFileAtomic(resolve(imagesDir!, `identity-${identity}.png`), encodePng(sheet, { rgb: true, deflate: (b) => deflateSync(b) }));
    };
    const t0 = Date.now();
    const result = await runEvaluation(createNodeRuntime({ backend: 'cpu' }), pack, scorers, settings, (p) => {
      process.stderr.write(`\ridentity ${p.identity + 1}/${p.ids}: ${p.method} (${p.phase})`.padEnd(60));
    }, imagesDir ? writeSheet : undefined);
    process.stderr.write('\n');
    console.log(`pack ${pack.manifest.id} (${pack.manifest.name}), ${settings.ids} held-out identities of world ${settings.seed}, styles ${settings.styles.join(', ')}, ` +
      `${settings.stepsImage} image steps, fine-tune ${settings.ftSteps} / DreamBooth ${settings.dbSteps} steps at lr ${settings.learningRate}, rank ${settings.rank}`);
    console.log(formatTable(result, scoreRenderedUpperBound(scorers, settings, pack.manifest.image.width)));
    console.log('(renders) = the renderer\'s own images of the identities in those styles, scored the same way: what a perfect personalization would reach');
    console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (imagesDir) console.log(`wrote ${settings.ids} contact sheets to ${imagesDir} (rows: selfie | ${METHODS.join(', ')}, renders; columns: ${settings.styles.join(', ')})`);
    const jsonPath = stringFlag(args, 'json');
    if (jsonPath) {
      mkdirSync(dirname(resolve(jsonPath)), { recursive: true });
      writeFileAtomic(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
      console.log(`wrote ${jsonPath}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`hyperbooth eval: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
