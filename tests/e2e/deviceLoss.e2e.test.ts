// A lost GPU device (destroyed through the test hook, as a GPU reset would end it): the next
// generate says so and runs on WASM in the same page, with the same worker, without a reload.
// WebGPU is SwiftShader here (slow), so the images are tiny: 2 steps, one image.
import { describe, expect, test } from 'vitest';
import { appInChromium } from './harness';
import { setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';

const READY_TIMEOUT = 240_000;
const GENERATE_TIMEOUT = 300_000;
const env = appInChromium();

describe('GPU device loss', () => {
  test('a destroyed device moves the models to WASM, says so, and generating works without a reload', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=webgpu`);
    await waitForReady(page, log, READY_TIMEOUT);
    expect(await page.getByTestId('backend').textContent()).toBe('WebGPU');
    const workerBefore = await page.evaluateHandle(() => window.__hyperbooth!.api);

    expect(await page.evaluate(() => window.__hyperbooth!.api.destroyGpuDeviceForTest())).toBe(true);

    await page.getByTestId('prompt').fill('a photo of a face');
    await setSampling(page, { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '3', count: '1' });
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', GENERATE_TIMEOUT);
    expect(await page.getByTestId('backend').textContent()).toBe('WASM');
    expect(await page.getByTestId('backend-notice').textContent()).toContain('The GPU device was lost (destroyed');
    expect(await page.getByTestId('error').count()).toBe(0);
    // the same worker recovered (no restart, no reload)
    expect(await page.evaluate((old) => window.__hyperbooth!.api === old, workerBefore)).toBe(true);

    // and it keeps working on WASM
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', GENERATE_TIMEOUT, 2);
    expect(await page.getByTestId('backend').textContent()).toBe('WASM');
    await page.close();
  });
});
