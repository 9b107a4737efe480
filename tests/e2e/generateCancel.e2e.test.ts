// Generate can be cancelled from the UI (issue 13, item 8): a Cancel button beside a running
// generate stops it before its next denoising step; the page says so calmly, keeps no image and
// no progress bar, and the next generate runs. Real worker, WASM, the embedded tiny pack.
import { describe, expect, test } from 'vitest';
import { appInChromium } from './harness';
import { screenshot, setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';

const READY_TIMEOUT = 180_000;
const env = appInChromium();

describe('Cancel beside a running generate', () => {
  test('stops it within steps, says so, keeps nothing, and the next generate works', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(page, log, READY_TIMEOUT);
    expect(await page.getByTestId('cancel-generate').count()).toBe(0);
    await page.getByTestId('prompt').fill('a photo of a face');
    // long enough that only Cancel ends it inside the test's time
    await setSampling(page, { steps: '150', guidance: '7.5', scheduler: 'ddim', seed: '3', count: '4' });
    await page.getByTestId('generate').click();
    await page.waitForFunction(() => /step [2-9]\d*\/150/.test(document.querySelector('.step-label')?.textContent ?? ''), undefined, { timeout: 120_000, polling: 100 });
    await screenshot(page, 'generate-running-with-cancel');
    const t0 = Date.now();
    await page.getByTestId('cancel-generate').click();
    await page.waitForFunction(() => !(document.querySelector('[data-testid="generate"]') as HTMLButtonElement).disabled, undefined, { timeout: 60_000, polling: 100 });
    const stoppedMs = Date.now() - t0;
    const banner = (await page.getByTestId('error').textContent()) ?? '';
    expect(banner).toMatch(/^Generating was cancelled after step \d+ of 150: no image was made\.×?$/);
    expect(await page.locator('[data-testid="error"].banner-warning').count()).toBe(1);
    expect(await page.getByTestId('progress').count()).toBe(0);
    expect(await page.getByTestId('cancel-generate').count()).toBe(0);
    expect(await page.getByTestId('gallery-image').count()).toBe(0);

    await setSampling(page, { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '3', count: '1' });
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', 120_000);
    expect(await page.getByTestId('gallery-image').count()).toBe(1);
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    console.log(`[e2e] generate stopped ${stoppedMs} ms after Cancel`);
    await page.close();
  });
});
