// A model worker that dies mid-generate (the test hook throws an error nothing catches, as a
// crash does): the page must say so, stop waiting, start a fresh worker, load the pack into it
// and generate again. Real worker, real onnxruntime-web on WASM, the embedded tiny pack.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { appInChromium } from './harness';
import { setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';

const READY_TIMEOUT = 180_000;
const GENERATE_TIMEOUT = 240_000;

const env = appInChromium();

const errorBanner = (page: Page) => page.evaluate(() => document.querySelector('[data-testid="error"]')?.textContent ?? '');

describe('a crashed worker', () => {
  test('rejects the running generate with a message, restarts, reloads the pack and generates again', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(page, log, READY_TIMEOUT);
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

    // the pack loads again into the fresh worker by itself, and generating works
    await waitForReady(page, log, READY_TIMEOUT);
    await setSampling(page, { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '7', count: '1' });
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', GENERATE_TIMEOUT);
    expect(await page.getByTestId('gallery-image').count()).toBe(1);
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(await page.getByTestId('progress').count()).toBe(0);
    await page.close();
  });
});
