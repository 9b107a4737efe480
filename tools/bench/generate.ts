// `npm run bench -- generate`: time per denoising step of generate() on the tiny pack, on
// onnxruntime-node (CPU) and in chromium on onnxruntime-web (WASM and WebGPU), side by side.
// Each backend runs one warm-up generate, then a timed one; ms/step is the median interval
// between step ends of the timed run (the first interval also holds text encoding, so it is left out).
import { resolve } from 'node:path';
import { parseArgs } from '../args';
import { failureNote, median, printTable as printBenchTable } from './lib/report';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../src/packs/node';
import { createPipeline } from '../../src/pipeline/pipeline';
import type { SchedulerName } from '../../src/diffusion/schedulers';
import type { GenerateRequest } from '../../workers/api';
import type { BenchHooks } from './pages/generatePage';

export const summary = 'time per denoising step: onnxruntime-node CPU vs chromium WASM / WebGPU';

const USAGE = `usage: npm run bench -- generate [--pack public/models/tiny] [--steps 10] [--guidance 7.5]
       [--scheduler ddim|euler|dpmpp2m] [--backends node,wasm,webgpu] [--prompt "..."]`;

interface Row {
  backend: string;
  msPerStep: number;
  totalMs: number;
  steps: number;
  checksum: number;
  note?: string;
}

function stepIntervals(stepEndsMs: number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < stepEndsMs.length; i++) out.push(stepEndsMs[i] - stepEndsMs[i - 1]);
  return out.length ? out : stepEndsMs.slice(0, 1);
}

async function benchNode(packDir: string, req: GenerateRequest): Promise<Row> {
  const pack = await loadPackFromDisk(packDir);
  const pipeline = await createPipeline(createNodeRuntime({ backend: 'cpu' }), pack);
  try {
    await pipeline.generate(req);
    const ends: number[] = [];
    const t0 = performance.now();
    const images = await pipeline.generate({ ...req, onStep: () => ends.push(performance.now() - t0) });
    const totalMs = performance.now() - t0;
    let checksum = 0;
    for (const v of images[0].rgba) checksum += v;
    return { backend: 'onnxruntime-node cpu', msPerStep: median(stepIntervals(ends)), totalMs, steps: ends.length, checksum };
  } finally {
    await pipeline.release();
  }
}

async function benchBrowser(packDir: string, backends: ('wasm' | 'webgpu')[], req: GenerateRequest): Promise<Row[]> {
  // The e2e harness already knows how to start this project's Vite server and Debian chromium
  // with the flags of DESIGN.md section 5; the benchmark uses the very same setup.
  const { startServer, launchBrowser, projectRoot } = await import('../../tests/e2e/harness');
  const rel = resolve(packDir).slice(resolve(projectRoot, 'public').length + 1);
  if (!resolve(packDir).startsWith(resolve(projectRoot, 'public') + '/')) {
    throw new Error(`--pack must be a folder under public/ (the dev server serves it), got ${packDir}`);
  }
  const server = await startServer();
  const browser = await launchBrowser();
  const rows: Row[] = [];
  try {
    for (const backend of backends) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      try {
        await page.goto(new URL('tools/bench/pages/generate.html', server.url).href);
        await page.waitForFunction(() => document.title === 'bench-ready', undefined, { timeout: 120_000 });
        const manifestUrl = new URL(`${rel}/manifest.json`, server.url).href;
        const loaded = await page.evaluate(([u, b]) => window.__hyperboothBench!.load(u, b as 'wasm' | 'webgpu'), [manifestUrl, backend] as const);
        await page.evaluate((r) => window.__hyperboothBench!.generate(r), req);
        const timed = await page.evaluate((r) => window.__hyperboothBench!.generate(r), req);
        const actual = timed.backend ?? loaded.backend;
        const row: Row = {
          backend: `chromium ${actual}${backend === 'webgpu' && actual === 'webgpu' ? ' (SwiftShader)' : ''}`,
          msPerStep: median(stepIntervals(timed.stepEndsMs)),
          totalMs: timed.totalMs,
          steps: timed.stepEndsMs.length,
          checksum: timed.checksum,
        };
        if (loaded.notice) row.note = loaded.notice;
        rows.push(row);
      } catch (e) {
        rows.push({ backend: `chromium ${backend}`, msPerStep: NaN, totalMs: NaN, steps: 0, checksum: NaN, note: failureNote(e, errors) });
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

function printTable(rows: Row[], req: GenerateRequest): void {
  console.log(`\ngenerate(): 1 image, ${req.steps} steps ${req.scheduler}, guidance ${req.guidance}${req.guidance > 1 ? ' (UNet batch 2)' : ''}; warm-up run first, median step\n`);
  const header = ['backend', 'ms/step', 'total ms', 'steps', 'pixel sum'];
  const body = rows.map((r) => [r.backend, r.msPerStep.toFixed(2), r.totalMs.toFixed(0), String(r.steps), String(r.checksum)]);
  printBenchTable(header, body);
  for (const r of rows) if (r.note) console.log(`\n${r.backend}: ${r.note}`);
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['help']);
  if (args.flags.help) {
    console.log(USAGE);
    return 0;
  }
  const str = (k: string, d: string) => (typeof args.flags[k] === 'string' ? (args.flags[k] as string) : d);
  const packDir = str('pack', 'public/models/tiny');
  const req: GenerateRequest = {
    prompts: [str('prompt', 'a photo of a person as a Pixar character')],
    seed: Number(str('seed', '42')),
    steps: Number(str('steps', '10')),
    guidance: Number(str('guidance', '7.5')),
    scheduler: str('scheduler', 'ddim') as SchedulerName,
  };
  const backends = str('backends', 'node,wasm,webgpu').split(',').map((b) => b.trim());
  for (const b of backends) if (!['node', 'wasm', 'webgpu'].includes(b)) throw new Error(`unknown backend "${b}"\n${USAGE}`);

  const rows: Row[] = [];
  if (backends.includes('node')) {
    console.error('onnxruntime-node cpu …');
    rows.push(await benchNode(packDir, req));
  }
  const web = backends.filter((b): b is 'wasm' | 'webgpu' => b === 'wasm' || b === 'webgpu');
  if (web.length) {
    console.error(`chromium ${web.join(', ')} …`);
    rows.push(...(await benchBrowser(packDir, web, req)));
  }
  printTable(rows, req);
  return rows.some((r) => Number.isNaN(r.msPerStep)) ? 1 : 0;
}
