// What a new user meets after the first personalization, in real chromium on WASM: the
// off-domain warning where it matters (the Personalize card and the results, for the embedded
// synthetic-only pack), and a reload that gives back the photo, its crop and the gallery, so the
// stepper's ticks agree with the page. Screenshots go to tests/e2e/artifacts/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { appInChromium, projectRoot } from './harness';
import { screenshot, setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';
import { REAL_PHOTO_SECTION } from '../../src/app/packDomain';

const READY_TIMEOUT = 180_000;
const PERSONALIZE_TIMEOUT = 300_000;
const GENERATE_TIMEOUT = 240_000;

const env = appInChromium();
const dir = mkdtempSync(join(tmpdir(), 'hyperbooth-first-run-'));
const SELFIE = join(dir, 'selfie-3.png');

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent()) ?? '';
const stepState = (page: Page, id: string) => page.locator(`[data-step="${id}"]`).getAttribute('data-state');

describe('first run: warnings where they matter, and a reload that restores the photo, the crop and the gallery', () => {
  let context: BrowserContext;

  beforeAll(async () => {
    // the held-out synthetic person the README tells new users to try
    execFileSync('npx', ['tsx', 'tools/cli.ts', 'dataset', 'selfie', '--id', '3', '--out', SELFIE], { cwd: projectRoot, stdio: 'pipe' });
    context = await env.browser.newContext();
  });

  afterAll(async () => {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('personalize → off-domain note in the card and on the results → reload keeps the photo, the crop and the images, and the steps agree', async () => {
    const page = await context.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(page, log, READY_TIMEOUT);

    // The Personalize card says it before anyone presses Personalize, in plain words.
    const note = page.getByTestId('off-domain-personalize');
    expect(await note.count()).toBe(1);
    const noteText = (await note.textContent()) ?? '';
    expect(noteText).toContain('only knows synthetic cartoon portraits');
    expect(noteText).toContain('will not look like you');
    expect(noteText).toContain(REAL_PHOTO_SECTION);
    expect(noteText).toContain('.safetensors');
    // no results yet, so no results warning
    expect(await page.getByTestId('off-domain-results').count()).toBe(0);

    await page.getByTestId('selfie-input').setInputFiles(SELFIE);
    await waitForTestId(page, log, 'crop-confirm', 60_000);
    // a crop the person moved: it must come back as they left it
    await page.getByTestId('crop-zoom-in').click();
    const movedCrop = await page.getByTestId('crop-box').getAttribute('style');
    await screenshot(page, 'first-run-crop');
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill('2');
    await page.getByTestId('personalize').click();
    await waitForTestId(page, log, 'personalized', PERSONALIZE_TIMEOUT);
    await screenshot(page, 'first-run-personalized');

    await page.getByTestId('prompt').fill('as an astronaut');
    await setSampling(page, { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '7', count: '1' });
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', GENERATE_TIMEOUT);
    const results = page.getByTestId('off-domain-results');
    expect(await results.count()).toBe(1);
    expect(await results.textContent()).toContain('will not look like that person');
    expect(await stepState(page, 'styles')).toBe('done');
    const before = await page.getByTestId('gallery-image').first().getAttribute('alt');
    await screenshot(page, 'first-run-gallery');

    // Reload: the personalization comes back on, and so does its image.
    await page.reload();
    await waitForReady(page, log, READY_TIMEOUT);
    await waitForTestId(page, log, 'personalized', 60_000);
    await waitForTestId(page, log, 'gallery-image', 30_000);
    expect(await page.getByTestId('gallery-image').count()).toBe(1);
    expect(await page.getByTestId('gallery-image').first().getAttribute('alt')).toBe(before);
    const size = await page.getByTestId('gallery-image').first().evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    });
    expect(size).toEqual([64, 64]);
    expect(await page.getByTestId('off-domain-results').count()).toBe(1);

    // The photo and the crop come back as they were, so the ticks agree with the page.
    await waitForTestId(page, log, 'crop-box', 30_000);
    expect(await page.locator('.dropzone-main strong').textContent()).toBe('selfie-3.png');
    expect(await page.getByTestId('crop-box').getAttribute('style')).toBe(movedCrop);
    expect(await page.getByTestId('crop-confirm').textContent()).toContain('Crop confirmed');
    expect(await stepState(page, 'upload')).toBe('done');
    expect(await stepState(page, 'crop')).toBe('done');
    expect(await stepState(page, 'personalize')).toBe('done');
    expect(await stepState(page, 'styles')).toBe('done');
    expect(await page.getByTestId('personalize').isEnabled()).toBe(true);
    await screenshot(page, 'first-run-after-reload');

    // Clear forgets the kept images too.
    await page.getByRole('button', { name: 'Clear' }).click();
    expect(await page.getByTestId('gallery-image').count()).toBe(0);
    await page.reload();
    await waitForReady(page, log, READY_TIMEOUT);
    await waitForTestId(page, log, 'personalized', 60_000);
    await page.waitForTimeout(1000);
    expect(await page.getByTestId('gallery-image').count()).toBe(0);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});
