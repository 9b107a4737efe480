// A model worker that dies mid-generate (the test hook throws an error nothing catches, as a
// crash does): the page must say so, stop waiting, start a fresh worker, load the pack into it,
// switch the personal weights that were in use back on in it, and generate again. Real worker,
// real onnxruntime-web on WASM, the embedded tiny pack, a LiDB imported through the UI.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { appInChromium } from './harness';
import { setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';
import { tinyLidbFile } from './tinyPackFiles';

const READY_TIMEOUT = 180_000;
const GENERATE_TIMEOUT = 240_000;

const env = appInChromium();

/** The worker's active personal weights as a LiDB file, or the worker's reason there are none. */
const exportedLidb = (page: Page) =>
  page.evaluate(async () => {
    try {
      return { bytes: Array.from(await window.__hyperbooth!.api.exportPersonalization('lidb')) };
    } catch (e) {
      return { problem: (e as Error).message };
    }
  });

const errorBanner = (page: Page) => page.evaluate(() => document.querySelector('[data-testid="error"]')?.textContent ?? '');

describe('a crashed worker', () => {
  test('rejects the running generate with a message, restarts, reloads the pack, re-applies the LiDB in use and generates again', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(page, log, READY_TIMEOUT);
    // personal weights in use before the crash
    await page.getByTestId('lidb-import').setInputFiles({ name: 'before-crash.lidb.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(tinyLidbFile(9)) });
    await waitForTestId(page, log, 'personalized', 30_000);
    const before = await exportedLidb(page);
    expect(before.bytes?.length, before.problem).toBeGreaterThan(0);
    await page.getByTestId('prompt').fill('a photo of a face');
    // many steps and images: had the crash not stopped it, this generate would run for a minute
    await setSampling(page, { steps: '150', guidance: '7.5', scheduler: 'ddim', seed: '7', count: '4' });

    const apiBefore = await page.evaluateHandle(() => window.__hyperbooth!.api);
    await page.evaluate(() => window.__hyperbooth!.api.crashAtNextStepForTest());
    await page.getByTestId('generate').click();

    // the UI stops waiting: the message shows, no progress bar is left, nothing was added
    await page.waitForFunction(() => (document.querySelector('[data-testid="error"]')?.textContent ?? '').includes('model worker failed'), undefined, {
      timeout: 30_000,
      polling: 100,
    });
    const message = await errorBanner(page);
    expect(message).toContain('crash caused by the test hook');
    expect(message).toContain('restarted');
    expect(await page.getByTestId('progress').count()).toBe(0);
    expect(await page.getByTestId('gallery-image').count()).toBe(0);
    // a fresh worker took the old one's place on the test surface
    expect(await page.evaluate((old) => window.__hyperbooth!.api !== old, apiBefore)).toBe(true);

    // the pack loads again into the fresh worker by itself, then the LiDB goes back in: the
    // fresh worker exports the same weights (a worker without any says so instead)
    await waitForReady(page, log, READY_TIMEOUT);
    let after = await exportedLidb(page);
    for (let i = 0; i < 100 && !after.bytes; i++) {
      await page.waitForTimeout(100);
      after = await exportedLidb(page);
    }
    expect(after.problem).toBeUndefined();
    expect(after.bytes).toEqual(before.bytes);
    expect(await page.getByTestId('active-name').textContent()).toBe('before-crash');
    await setSampling(page, { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '7', count: '1' });
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', GENERATE_TIMEOUT);
    expect(await page.getByTestId('gallery-image').count()).toBe(1);
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(await page.getByTestId('progress').count()).toBe(0);
    await page.close();
  });
});
