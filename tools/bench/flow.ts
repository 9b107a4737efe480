// `npm run bench -- flow`: the whole first visit as a person does it, through the app's own UI
// in headless chromium on the backend the app picks by itself (no ?backend): page load to Ready
// (a fresh profile, so the pack downloads), upload the synthetic selfie of held-out person 3 →
// crop → Personalize (40 fine-tune steps) → 4 style images. Prints seconds per stage and total.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { intFlag, parseArgs } from '../args';
import { machineLine, printTable } from './lib/report';

export const summary = 'the whole flow in chromium on the default backend: load → upload → personalize 40 steps → 4 images, seconds per stage';

const USAGE = 'usage: npm run bench -- flow [--steps 40] [--images 4] [--gen-steps 20] [--id 3]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['help']);
  if (args.flags.help) {
    console.log(USAGE);
    return 0;
  }
  const steps = intFlag(args, 'steps', 40);
  const images = intFlag(args, 'images', 4);
  const genSteps = intFlag(args, 'gen-steps', 20);
  const id = intFlag(args, 'id', 3);

  const { startServer, launchBrowser, projectRoot } = await import('../../tests/e2e/harness');
  const { waitForReady, waitForTestId, watchPage } = await import('../../tests/e2e/pageHelpers');
  const dir = mkdtempSync(join(tmpdir(), 'hyperbooth-flow-'));
  const selfie = join(dir, `selfie-${id}.png`);
  execFileSync('npx', ['tsx', 'tools/cli.ts', 'dataset', 'selfie', '--id', String(id), '--out', selfie], { cwd: projectRoot, stdio: 'pipe' });

  const loadBefore = loadavg();
  const server = await startServer();
  const browser = await launchBrowser();
  const stages: [string, number][] = [];
  let backend = '';
  let notice = '';
  try {
    const page = await (await browser.newContext()).newPage();
    const log = watchPage(page);
    const time = async (name: string, work: () => Promise<void>) => {
      const t0 = performance.now();
      await work();
      stages.push([name, (performance.now() - t0) / 1000]);
    };
    await time('open the page → Ready (pack downloaded, backend chosen)', async () => {
      await page.goto(server.url);
      await waitForReady(page, log, 600_000);
    });
    backend = (await page.getByTestId('backend').textContent()) ?? '?';
    if (await page.getByTestId('backend-notice').count()) notice = (await page.getByTestId('backend-notice').textContent()) ?? '';
    await time('upload the selfie → crop shown (decode, face)', async () => {
      await page.getByTestId('selfie-input').setInputFiles(selfie);
      await waitForTestId(page, log, 'crop-confirm', 120_000);
      await page.getByTestId('crop-confirm').click();
    });
    await time(`personalize (hypernetwork + ${steps} fine-tune steps)`, async () => {
      await page.getByTestId('ft-steps').fill(String(steps));
      await page.getByTestId('personalize').click();
      await waitForTestId(page, log, 'personalized', 1_800_000);
    });
    await time(`generate ${images} style images (${genSteps} steps each)`, async () => {
      for (let i = 0; i < images; i++) await page.getByTestId('style-option').nth(i).click();
      await page.getByTestId('steps').fill(String(genSteps));
      await page.getByTestId('count').fill('1');
      await page.getByTestId('generate').click();
      await waitForTestId(page, log, 'gallery-image', 1_800_000, images);
    });
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const total = stages.reduce((s, [, t]) => s + t, 0);
  console.log(`\nflow in headless chromium, backend the app picked: ${backend}${notice ? ` (${notice})` : ''}; selfie: held-out synthetic person ${id}`);
  console.log(`load average before: ${loadBefore.map((l) => l.toFixed(1)).join(' ')}\n`);
  printTable(['stage', 'seconds'], [...stages.map(([n, t]) => [n, t.toFixed(1)]), ['total', total.toFixed(1)]]);
  console.log(machineLine());
  return 0;
}
