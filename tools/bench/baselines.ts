// `npm run bench -- baselines`: the weight-training baselines' step times on onnxruntime-node CPU
// (DreamBooth over the UNet's own weights, textual inversion over the trigger's row), the time
// to build and open their graphs, and each eval method's fine-tune extrapolated from the
// median step (dreambooth 1,200 steps, dreambooth-400, dreambooth-40, textual inversion 400).
import { resolve } from 'node:path';
import { identitySeed, photoSeed, renderPhoto, sampleIdentity } from '../../src/dataset';
import { dreamboothFineTune, openUnetWeightTraining } from '../../src/eval/baselines/dreambooth';
import { openTokenTraining, textualInversion } from '../../src/eval/baselines/textualInversion';
import { loadPackFromDisk } from '../../src/packs/node';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { intFlag, parseArgs } from '../args';
import { median, printTable } from './lib/report';

export const summary = 'DreamBooth (UNet weights) and textual-inversion step times on onnxruntime-node CPU, extrapolated to each method\'s steps';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const steps = intFlag(args, 'steps', 10);
  const pack = await loadPackFromDisk(resolve(typeof args.flags.pack === 'string' ? args.flags.pack : 'public/models/tiny'));
  const runtime = createNodeRuntime();
  const idSeed = identitySeed('val', 0, 0);
  const selfie = renderPhoto(sampleIdentity(idSeed), photoSeed(idSeed, 0), { size: pack.manifest.image.width });
  const rows: string[][] = [];
  const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => { const t0 = performance.now(); const v = await f(); return [v, performance.now() - t0]; };

  const [db, dbOpen] = await time(() => openUnetWeightTraining(runtime, pack));
  const latent = await db.graphs.encodeLatent(selfie);
  const dbRun = await dreamboothFineTune(db, latent, { steps: steps + 1, learningRate: 1e-5, seed: 1 });
  const dbStep = median(dbRun.stepMs.slice(1));
  await db.release();
  rows.push(['dreambooth (UNet weights)', (dbOpen / 1000).toFixed(1), dbStep.toFixed(0), ...[1200, 400, 40].map((n) => (n * dbStep / 1000).toFixed(0))]);

  const [ti, tiOpen] = await time(() => openTokenTraining(runtime, pack));
  const ms: number[] = [];
  for (let i = 0; i <= steps; i++) { const [, t] = await time(() => textualInversion(ti, latent, { steps: 1, learningRate: 1e-2, seed: i })); if (i) ms.push(t); }
  await ti.release();
  const tiStep = median(ms);
  rows.push(['textual inversion (1 row)', (tiOpen / 1000).toFixed(1), tiStep.toFixed(0), (400 * tiStep / 1000).toFixed(0), '–', '–']);
  printTable(['baseline', 'open s', 'step ms (median)', 's @1200 / TI 400', 's @400', 's @40'], rows);
  return 0;
}
