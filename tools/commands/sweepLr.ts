// `hyperbooth sweep-lr`: the per-method learning-rate sweep on the validation split
// (src/eval/sweep.ts); prints one JSON line per (method, rate) and writes them all.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isStyle, type Style } from '../../src/dataset';
import { loadIdentityEmbedder } from '../../src/eval/embedder/embedder';
import { bestRates, sweepLearningRates } from '../../src/eval/sweep';
import { methodNames } from '../../src/eval/methods';
import { loadPackFromDisk } from '../../src/packs/node';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { intFlag, parseArgs, UsageError } from '../args';
import { DEFAULT_EMBEDDER } from './evalEmbedder';

export const summary = 'per-method learning-rate sweep on validation identities: sweep-lr --pack <dir> --methods a,b --rates m=1e-3,3e-3;n=… --json <file>';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const str = (k: string) => { const v = args.flags[k]; if (v === true) throw new UsageError(`--${k} needs a value`); return v; };
  const pack = str('pack'), json = str('json'), ratesText = str('rates');
  if (!pack || !json || !ratesText) throw new UsageError(`usage: hyperbooth sweep-lr --pack <dir> --rates <method>=<lr>,<lr>;… --json <file> [--ids 4] [--seed 0] [--styles photo,pop-art,watercolor] [--steps-image 10]\n  methods: ${methodNames().join(', ')}`);
  const rates: Record<string, number[]> = {};
  for (const part of ratesText.split(';').filter(Boolean)) {
    const [m, list] = part.split('=');
    const values = (list ?? '').split(',').map(Number);
    if (!methodNames().includes(m) || !values.length || values.some((v) => !(v > 0 && v <= 1))) throw new UsageError(`--rates: bad entry '${part}'`);
    rates[m] = values;
  }
  const styles = (str('styles') ?? 'photo,pop-art,watercolor').split(',');
  for (const s of styles) if (!isStyle(s)) throw new UsageError(`unknown style '${s}'`);
  const runtime = createNodeRuntime();
  const embedder = await loadIdentityEmbedder(runtime, new Uint8Array(readFileSync(DEFAULT_EMBEDDER)));
  try {
    const rows = await sweepLearningRates(runtime, await loadPackFromDisk(resolve(pack)), embedder, {
      methods: Object.keys(rates), rates, ids: intFlag(args, 'ids', 4), seed: intFlag(args, 'seed', 0), styles: styles as Style[],
      stepsImage: intFlag(args, 'steps-image', 10), settings: { ftSteps: 40, lidbSteps: 400, rank: 4 },
    }, (r) => console.log(JSON.stringify(r)));
    mkdirSync(dirname(resolve(json)), { recursive: true });
    writeFileSync(json, `${JSON.stringify({ rows, best: bestRates(rows) }, null, 2)}\n`);
    console.log(`best: ${JSON.stringify(bestRates(rows))}`);
  } finally {
    await embedder.release();
  }
  return 0;
}
