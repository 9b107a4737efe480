// What a new user meets (issue 14), in chromium on a dev server with a fresh Vite cache and a
// fresh browser profile: the first load happens once (no optimizer reload), the app picks WASM
// over SwiftShader's software WebGPU and says why, the status and the pack card never
// contradict each other, the crop starts where the pack asks, the loss chart is labelled, and
// the gallery footers stay on one line. Screenshots of each step go to tests/e2e/artifacts/.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { launchPersistentBrowser, projectRoot, startServer, type PersistentBrowser, type TestServer } from './harness';
import { screenshot, setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';
import { encodePng, identitySeed, photoSeed, renderStyled, sampleIdentity } from '../../src/dataset';
import type { PackManifest } from '../../src/packs/manifest';
import { formatMegabytes } from '../../src/app/statusText';

const manifest = JSON.parse(readFileSync(join(projectRoot, 'public', 'models', 'tiny', 'manifest.json'), 'utf8')) as PackManifest;
const index = JSON.parse(readFileSync(join(projectRoot, 'public', 'models', 'index.json'), 'utf8')) as { packs: { id: string; size: number }[] };
const PACK_MB = formatMegabytes(index.packs.find((p) => p.id === 'tiny')!.size);
const APP_FALLBACK_LR = '0.001';
const PACK_LR = String(manifest.train!.defaults.learningRate);

const identity = sampleIdentity(identitySeed('heldout', 3, 0));
const SELFIE = { name: 'synthetic-selfie.png', mimeType: 'image/png', buffer: Buffer.from(encodePng(renderStyled(identity, 'photo', photoSeed(identity.seed, 0), 256), { rgb: true, deflate: (b) => deflateSync(b) })) };

const READY_TIMEOUT = 240_000;
const RUN_TIMEOUT = 420_000;
const FINE_TUNE_STEPS = 12;

interface Recorded {
  /** every distinct status line, in order */
  statuses: string[];
  /** every distinct value the learning-rate field showed */
  learningRates: string[];
  /** the pack card's size line, sampled while the status said Ready */
  packSizesWhenReady: string[];
}

/** Samples what the page shows every 15 ms from its first script on, on every page load. */
function recordPage(): void {
  const rec: Recorded = { statuses: [], learningRates: [], packSizesWhenReady: [] };
  (window as unknown as { __recorded: Recorded }).__recorded = rec;
  const push = (list: string[], v: string | undefined) => {
    if (v !== undefined && list[list.length - 1] !== v) list.push(v);
  };
  setInterval(() => {
    const status = document.querySelector('[data-testid="status"]')?.textContent ?? undefined;
    push(rec.statuses, status);
    push(rec.learningRates, (document.querySelector('[data-testid="ft-lr"]') as HTMLInputElement | null)?.value);
    if (status?.startsWith('Ready')) {
      for (const el of document.querySelectorAll('[data-testid="pack-size"]')) push(rec.packSizesWhenReady, el.textContent ?? '');
    }
  }, 15);
}

const recorded = (page: Page) => page.evaluate(() => (window as unknown as { __recorded: Recorded }).__recorded);

describe('the first visit, as a new user meets it', () => {
  let server: TestServer;
  let browser: PersistentBrowser;
  let cacheDir: string;
  let page: Page;
  let log: string[];
  let navigations = 0;

  beforeAll(async () => {
    // a fresh dependency cache is what a first `npm run dev` has; hmr on, as `npm run dev` has it,
    // since the optimizer reloads the page through that websocket
    cacheDir = await mkdtemp(join(tmpdir(), 'hyperbooth-vite-cache-'));
    server = await startServer({ cacheDir, hmr: true });
    browser = await launchPersistentBrowser();
    page = await browser.context.newPage();
    log = watchPage(page);
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    await page.addInitScript(recordPage);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  test('loads once, picks WASM over software WebGPU and says why; status, pack card and fields agree', async () => {
    expect(PACK_LR, 'the test needs a pack default that differs from the app fallback').not.toBe(APP_FALLBACK_LR);
    await page.goto(server.url);
    await page.evaluate(() => ((window as unknown as { __firstPage: boolean }).__firstPage = true));
    const status = await waitForReady(page, log, READY_TIMEOUT);
    expect(status).toBe('Ready');

    // no "optimized dependencies changed. reloading": the page that started the download is the one that finished it
    expect(navigations).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { __firstPage?: boolean }).__firstPage)).toBe(true);

    // SwiftShader is a software adapter: WASM, with the reason and the way to force WebGPU
    expect(await page.getByTestId('backend').textContent()).toBe('WASM');
    const notice = (await page.getByTestId('backend-notice').textContent()) ?? '';
    expect(notice).toMatch(/^WebGPU here is a software renderer \(.*swiftshader.*\), many times slower than WASM: running on WASM\. Add \?backend=webgpu/i);

    // the pack card never says "Checking the cache…" beside Ready, once it has an answer
    await page.waitForFunction(() => document.querySelector('[data-testid="pack-size"]')?.textContent === 'Cached', undefined, { timeout: 30_000 });
    const first = await recorded(page);
    expect(first.packSizesWhenReady).not.toContain('Checking the cache…');
    // the learning rate goes from empty (the pack is loading) to the pack's, never the app's fallback
    expect(first.learningRates).not.toContain(APP_FALLBACK_LR);
    expect(first.learningRates.at(-1)).toBe(PACK_LR);
    // a real first download: "Loading…" until the first progress report, then byte progress
    expect(first.statuses[0]).toMatch(/^(Starting…|Looking for model packs…|Loading )/);
    expect(first.statuses.some((s) => s.startsWith('Downloading ') && s.endsWith(` / ${PACK_MB} MB`))).toBe(true);

    // the radio's dot sits on its label's line, left of the name
    const option = page.getByTestId('pack-option').first();
    const radio = (await option.locator('input[type="radio"]').boundingBox())!;
    const name = (await option.locator('.pack-name').boundingBox())!;
    expect(radio.width).toBeLessThan(24);
    expect(radio.x + radio.width).toBeLessThanOrEqual(name.x);
    expect(Math.abs(radio.y + radio.height / 2 - (name.y + name.height / 2))).toBeLessThan(6);
    console.log(`[e2e] first visit: ${first.statuses.length} status lines, ready as "${status}"; backend notice: ${notice}`);
    await screenshot(page, '1-first-load');
  });

  test('a second visit loads from the cache and never says Downloading', async () => {
    await page.reload();
    await waitForReady(page, log, READY_TIMEOUT);
    const again = await recorded(page);
    expect(again.statuses.filter((s) => s.startsWith('Downloading'))).toEqual([]);
    expect(again.statuses).toContain('Ready (from cache)');
    expect(again.learningRates).not.toContain(APP_FALLBACK_LR);
  });

  test("the crop starts on the whole portrait the tiny pack asks for, and says so", async () => {
    await page.getByTestId('selfie-input').setInputFiles(SELFIE);
    await waitForTestId(page, log, 'crop-confirm', RUN_TIMEOUT);
    const style = (await page.getByTestId('crop-box').getAttribute('style')) ?? '';
    expect(style).toContain('left: 0%');
    expect(style).toContain('top: 0%');
    expect(style).toContain('width: 100%');
    expect(style).toContain('height: 100%');
    expect(await page.locator('.crop-controls input[type="range"]').inputValue()).toBe('0');
    const hint = (await page.locator('.step-card', { hasText: 'Crop your face' }).locator('.hint-line').textContent()) ?? '';
    expect(hint).toMatch(/whole portraits/);
    expect(hint).not.toMatch(/a little hair inside/);
    await screenshot(page, '2-crop');
  });

  test('personalizing draws a labelled, smoothed loss chart with a line on what a good run looks like', async () => {
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill(String(FINE_TUNE_STEPS));
    const t0 = Date.now();
    await page.getByTestId('personalize').click();
    await waitForTestId(page, log, 'personalized', RUN_TIMEOUT);
    const chart = page.getByTestId('loss-chart');
    expect(await chart.getAttribute('data-points')).toBe(String(FINE_TUNE_STEPS));
    // uPlot draws the axis labels on its canvas (see the screenshot); the chart's accessible name carries them
    expect(await chart.getByRole('img').getAttribute('aria-label')).toBe(`Chart of loss (noise MSE) against fine-tune step, ${FINE_TUNE_STEPS} of ${FINE_TUNE_STEPS} steps`);
    expect(await page.getByTestId('loss-guide').textContent()).toMatch(/^A good run: the smoothed line stays level or drifts down/);
    expect(Number(await page.getByTestId('loss-smoothed').textContent())).toBeGreaterThan(0);
    console.log(`[e2e] first visit: personalized (${FINE_TUNE_STEPS} steps, WASM) in ${Date.now() - t0} ms`);
    await page.getByTestId('loss-chart').scrollIntoViewIfNeeded();
    await screenshot(page, '3-personalized');
  });

  test('the gallery shows four images whose footers stay on one line, and the first page is still the same page', async () => {
    const styles = page.getByTestId('style-option');
    await styles.nth(0).click();
    await styles.nth(1).click();
    await page.getByTestId('prompt').fill('');
    await setSampling(page, { steps: '8', guidance: '7.5', scheduler: 'ddim', seed: '42', count: '2' });
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', RUN_TIMEOUT, 4);
    const wrapped = await page.evaluate(() =>
      [...document.querySelectorAll('.gallery-actions > *')]
        .filter((el) => el.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(el).lineHeight || '16'))
        .map((el) => el.textContent),
    );
    expect(await page.locator('.gallery-actions > *').count()).toBe(8);
    expect(wrapped).toEqual([]);
    await page.locator('.gallery-section').scrollIntoViewIfNeeded();
    await screenshot(page, '4-gallery');
    // one reload in this file, the deliberate one of the second visit
    expect(navigations).toBe(2);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});
