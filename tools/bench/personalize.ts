// `npm run bench -- personalize`: time per stage of the personalization — decode + face crop,
// hypernetwork, VAE encode, each fine-tune step (median), each generated image — on
// onnxruntime-node (CPU) and in chromium through the app's own worker (window.__hyperbooth.api)
// on WASM and WebGPU, side by side. Every backend runs a short warm-up personalization and image
// first (sessions open, shaders compile), then the timed ones.
//
// `npm run bench -- personalize --sweep`: the learning-rate sweep behind the pack's default
// (manifest.train.defaults.learningRate): held-out denoising loss after the fine-tune, per rate.
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { parseArgs } from '../args';
import { failureNote, median, printTable } from './lib/report';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../src/packs/node';
import { createPipeline } from '../../src/pipeline/pipeline';
import { createPersonalizer, type FineTuneSettings } from '../../src/finetune/personalize';
import { packStylePresets, stylePrompt } from '../../src/packs/stylePresets';
import { decodeImageBytes } from '../../src/face/decodeNode';
import { readBlazeFaceModel } from '../../src/face/blazefaceNode';
import { createFaceDetectorSession } from '../../src/face/blazeface';
import { locateFace } from '../../src/face/faceStep';
import { cropToSquare } from '../../src/face/crop';
import { locateFaceInFile } from '../../src/finetune/faceNode';
import { heldOutDraws } from '../../src/finetune/draws';
import { personalSlots } from '../../src/lidb/personal';
import type { GenerateRequest } from '../../workers/api';

export const summary = 'time per personalization stage: onnxruntime-node CPU vs chromium WASM / WebGPU (--sweep: learning-rate sweep)';

const USAGE = `usage: npm run bench -- personalize [--pack public/models/tiny] [--photo tests/fixtures/images/astronaut.png]
       [--steps N (pack default)] [--webgpu-steps 3] [--rank N] [--lr X] [--seed 1]
       [--images 2] [--gen-steps 10] [--backends node,wasm,webgpu]
   or: npm run bench -- personalize --sweep [--lrs 1e-4,3e-4,1e-3,3e-3,1e-2,3e-2] [--seeds 1,2,3] [--draws 64]`;

interface Row {
  backend: string;
  decodeCropMs: number;
  hypernetworkMs: number;
  vaeEncodeMs: number;
  stepMs: number;
  steps: number;
  imageMs: number;
  firstLoss: number;
  lastLoss: number;
  note?: string;
}

interface Plan {
  packDir: string;
  photo: string;
  settings: FineTuneSettings;
  webgpuSteps: number;
  gen: GenerateRequest;
}

async function benchNode(plan: Plan): Promise<Row> {
  const pack = await loadPackFromDisk(plan.packDir);
  const runtime = createNodeRuntime({ backend: 'cpu' });
  const bytes = new Uint8Array(await readFile(plan.photo));
  const detector = await createFaceDetectorSession(runtime, await readBlazeFaceModel());
  const personalizer = await createPersonalizer(runtime, pack);
  const pipeline = await createPipeline(runtime, pack);
  try {
    // decode + face + crop, as the worker's prepareSelfie does (and the crops personalize makes)
    const prepare = async () => {
      const face = await locateFace(detector, decodeImageBytes(bytes).image);
      cropToSquare(face.image, face.crop, pack.manifest.image.width);
      return face;
    };
    await prepare();
    const prepMs: number[] = [];
    let face = await prepare();
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      face = await prepare();
      prepMs.push(performance.now() - t0);
    }
    const input = { image: face.image, crop: face.crop };
    await personalizer.personalize(input, { settings: { ...plan.settings, steps: 2 } });
    const r = await personalizer.personalize(input, { settings: plan.settings });

    const lora = personalSlots(r, personalizer.aux, pack.manifest.lora.layers);
    await pipeline.generate({ ...plan.gen, prompts: plan.gen.prompts.slice(0, 1), steps: 1, lora });
    const t0 = performance.now();
    await pipeline.generate({ ...plan.gen, lora });
    const imageMs = (performance.now() - t0) / plan.gen.prompts.length;
    return {
      backend: 'onnxruntime-node cpu',
      decodeCropMs: median(prepMs),
      hypernetworkMs: r.timings.hypernetworkMs,
      vaeEncodeMs: r.timings.vaeEncodeMs,
      stepMs: median(r.stepMs),
      steps: r.stepMs.length,
      imageMs,
      firstLoss: r.losses[0],
      lastLoss: r.losses[r.losses.length - 1],
    };
  } finally {
    await Promise.all([detector.release(), personalizer.release(), pipeline.release()]);
  }
}

interface PageResult {
  backend: string;
  notice?: string;
  decodeCropMs: number;
  hypernetworkMs: number;
  vaeEncodeMs: number;
  stepMs: number[];
  losses: number[];
  imageMs: number;
}

async function benchBrowser(plan: Plan, backends: ('wasm' | 'webgpu')[]): Promise<Row[]> {
  // The e2e harness already starts this project's Vite server and Debian chromium with the
  // flags of DESIGN.md section 5; the benchmark uses the very same setup.
  const { startServer, launchBrowser, projectRoot } = await import('../../tests/e2e/harness');
  const publicDir = resolve(projectRoot, 'public');
  if (!resolve(plan.packDir).startsWith(`${publicDir}/`)) throw new Error(`--pack must be a folder under public/ (the dev server serves it), got ${plan.packDir}`);
  if (!resolve(plan.photo).startsWith(`${resolve(projectRoot)}/`)) throw new Error(`--photo must be inside the project (the dev server serves it), got ${plan.photo}`);
  const server = await startServer();
  const browser = await launchBrowser();
  const rows: Row[] = [];
  try {
    for (const backend of backends) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(server.url);
        await page.waitForFunction(() => window.__hyperbooth?.api !== undefined, undefined, { timeout: 120_000 });
        const steps = backend === 'webgpu' ? Math.min(plan.webgpuSteps, plan.settings.steps) : plan.settings.steps;
        const args = {
          manifestUrl: new URL(`${relative(publicDir, resolve(plan.packDir))}/manifest.json`, server.url).href,
          photoUrl: new URL(relative(projectRoot, resolve(plan.photo)), server.url).href,
          backend,
          settings: { ...plan.settings, steps },
          gen: plan.gen,
        };
        // Runs in the page. The API's progress callbacks must be comlink proxies, which cannot be
        // made here; the worker takes none, and reports stage times in the result instead.
        const res: PageResult = await page.evaluate(async (a) => {
          const remote = window.__hyperbooth!.api;
          const none = undefined as never;
          const loaded = await remote.loadPack(a.manifestUrl, { backend: a.backend }, none);
          const blob = await (await fetch(a.photoUrl)).blob();
          await remote.prepareSelfie(blob);
          let t = performance.now();
          const selfie = await remote.prepareSelfie(blob);
          const decodeCropMs = performance.now() - t;
          const input = { rgba: selfie.rgba, width: selfie.width, height: selfie.height, crop: selfie.crop };
          await remote.personalize(input, { ...a.settings, steps: 1 }, none);
          const r = await remote.personalize(input, a.settings, none);
          await remote.generate({ ...a.gen, prompts: a.gen.prompts.slice(0, 1), steps: 1 }, none);
          t = performance.now();
          const { images, backend } = await remote.generate(a.gen, none);
          const imageMs = (performance.now() - t) / images.length;
          return {
            backend: backend ?? r.backend ?? loaded.backend,
            notice: r.notice ?? loaded.notice,
            decodeCropMs,
            hypernetworkMs: r.timings!.hypernetworkMs,
            vaeEncodeMs: r.timings!.vaeEncodeMs,
            stepMs: r.timings!.stepMs,
            losses: r.losses,
            imageMs,
          };
        }, args);
        const row: Row = {
          backend: `chromium ${res.backend}${res.backend === 'webgpu' ? ' (SwiftShader)' : ''}`,
          decodeCropMs: res.decodeCropMs,
          hypernetworkMs: res.hypernetworkMs,
          vaeEncodeMs: res.vaeEncodeMs,
          stepMs: median(res.stepMs),
          steps: res.stepMs.length,
          imageMs: res.imageMs,
          firstLoss: res.losses[0],
          lastLoss: res.losses[res.losses.length - 1],
        };
        if (res.notice) row.note = res.notice;
        rows.push(row);
      } catch (e) {
        rows.push({
          backend: `chromium ${backend}`, decodeCropMs: NaN, hypernetworkMs: NaN, vaeEncodeMs: NaN, stepMs: NaN, steps: 0, imageMs: NaN, firstLoss: NaN, lastLoss: NaN,
          note: failureNote(e, errors),
        });
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return rows;
}

function printStages(rows: Row[], plan: Plan): void {
  console.log(`\npersonalize(): ${relative(process.cwd(), plan.photo)}, rank ${plan.settings.rank}, lr ${plan.settings.learningRate}, seed ${plan.settings.seed}; ` +
    `generate(): ${plan.gen.prompts.length} style images, ${plan.gen.steps} ${plan.gen.scheduler} steps, guidance ${plan.gen.guidance}. Warm-up first; times in ms\n`);
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—');
  printTable(
    ['backend', 'decode+crop', 'hypernetwork', 'VAE encode', 'fine-tune step (median)', 'steps', 'image', 'loss first → last'],
    rows.map((r) => [r.backend, f(r.decodeCropMs), f(r.hypernetworkMs), f(r.vaeEncodeMs), f(r.stepMs), String(r.steps), f(r.imageMs, 0), `${f(r.firstLoss, 3)} → ${f(r.lastLoss, 3)}`]),
  );
  for (const r of rows) if (r.note) console.log(`\n${r.backend}: ${r.note}`);
}

/**
 * The learning-rate sweep: one hypernetwork prediction and latent of the photo, then for every
 * rate and seed a fine-tune with the pack's steps and rank, scored by the denoising loss over
 * `draws` held-out (t, ε) (their own seed, never used in training) with the plain forward graphs.
 */
async function sweep(plan: Plan, lrs: number[], seeds: number[], drawCount: number): Promise<number> {
  const pack = await loadPackFromDisk(plan.packDir);
  const personalizer = await createPersonalizer(createNodeRuntime({ backend: 'cpu' }), pack);
  try {
    const { image, crop } = await locateFaceInFile(plan.photo);
    const { manifest } = pack;
    const face = (size: number) => cropToSquare(image, crop, size);
    const predicted = await personalizer.predict(face(manifest.hypernet?.imageSize ?? manifest.image.width));
    const latent = await personalizer.encodeLatent(face(manifest.image.width));
    const draws = heldOutDraws(drawCount, manifest.schedule.numTrainTimesteps, latent.length);
    const startLoss = await personalizer.denoisingLoss({ lidb: predicted }, latent, draws);
    console.error(`held-out loss of the hypernetwork's prediction: ${startLoss.toFixed(4)}`);
    const rows: { lr: number; losses: number[]; ms: number }[] = [];
    for (const lr of lrs) {
      const losses: number[] = [];
      const t0 = performance.now();
      for (const seed of seeds) {
        const r = await personalizer.fineTune(predicted, latent, { settings: { ...plan.settings, learningRate: lr, seed } });
        losses.push(await personalizer.denoisingLoss(r, latent, draws));
      }
      rows.push({ lr, losses, ms: (performance.now() - t0) / seeds.length });
      console.error(`lr ${lr}: ${losses.map((l) => l.toFixed(4)).join(', ')}`);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const best = rows.reduce((a, b) => (mean(b.losses) < mean(a.losses) ? b : a));
    console.log(`\nlearning-rate sweep: ${relative(process.cwd(), plan.photo)}, ${plan.settings.steps} Adam steps at rank ${plan.settings.rank} from the hypernetwork's prediction, ` +
      `seeds ${seeds.join(', ')}; held-out denoising loss over ${drawCount} fixed (t, ε) draws (before: ${startLoss.toFixed(4)})\n`);
    printTable(
      ['learning rate', 'held-out loss (mean)', 'change', ...seeds.map((s) => `seed ${s}`), 'ms/fine-tune'],
      rows.map((r) => [String(r.lr), mean(r.losses).toFixed(4), `${(((mean(r.losses) - startLoss) / startLoss) * 100).toFixed(1)}%`, ...r.losses.map((l) => l.toFixed(4)), r.ms.toFixed(0)]),
    );
    console.log(`\nbest: ${best.lr} (held-out loss ${mean(best.losses).toFixed(4)})`);
    return 0;
  } finally {
    await personalizer.release();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['help', 'sweep']);
  if (args.flags.help) {
    console.log(USAGE);
    return 0;
  }
  const str = (k: string, d: string) => (typeof args.flags[k] === 'string' ? (args.flags[k] as string) : d);
  const num = (k: string, d: number) => {
    const v = Number(str(k, String(d)));
    if (!Number.isFinite(v)) throw new Error(`--${k} must be a number\n${USAGE}`);
    return v;
  };
  const packDir = str('pack', 'public/models/tiny');
  const manifest = (await loadPackFromDisk(packDir)).manifest;
  const defaults = manifest.train?.defaults;
  if (!defaults) throw new Error(`${packDir}: the pack has no fine-tune graphs (manifest "train")`);
  const images = num('images', 2);
  // the styles the app would offer for this pack
  const styles = packStylePresets(manifest);
  const plan: Plan = {
    packDir,
    photo: str('photo', 'tests/fixtures/images/astronaut.png'),
    settings: { steps: num('steps', defaults.steps), rank: num('rank', defaults.rank), learningRate: num('lr', defaults.learningRate), seed: num('seed', 1) },
    webgpuSteps: num('webgpu-steps', 3),
    gen: {
      prompts: Array.from({ length: images }, (_, i) => stylePrompt(styles[i % styles.length], manifest.trigger)),
      seed: 42,
      steps: num('gen-steps', 10),
      guidance: 7.5,
      scheduler: 'ddim',
    },
  };
  if (args.flags.sweep) {
    const list = (k: string, d: string) => str(k, d).split(',').map((x) => Number(x.trim()));
    return sweep(plan, list('lrs', '1e-4,3e-4,1e-3,3e-3,1e-2,3e-2'), list('seeds', '1,2,3'), num('draws', 64));
  }
  const backends = str('backends', 'node,wasm,webgpu').split(',').map((b) => b.trim());
  for (const b of backends) if (!['node', 'wasm', 'webgpu'].includes(b)) throw new Error(`unknown backend "${b}"\n${USAGE}`);
  const rows: Row[] = [];
  if (backends.includes('node')) {
    console.error('onnxruntime-node cpu …');
    rows.push(await benchNode(plan));
  }
  const web = backends.filter((b): b is 'wasm' | 'webgpu' => b === 'wasm' || b === 'webgpu');
  if (web.length) {
    console.error(`chromium ${web.join(', ')} …`);
    rows.push(...(await benchBrowser(plan, web)));
  }
  printStages(rows, plan);
  if (web.includes('webgpu') && plan.webgpuSteps < plan.settings.steps) console.log(`\nchromium webgpu ran ${plan.webgpuSteps} fine-tune steps (--webgpu-steps): SwiftShader is slow; the median step is what compares.`);
  return rows.some((r) => Number.isNaN(r.stepMs)) ? 1 : 0;
}
