// A reload in the middle of personalizing: the photo, the crop as moved and the fine-tune
// settings come back from IndexedDB, so Personalize can be pressed again.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { appInChromium, projectRoot } from './harness';
import { waitForReady, waitForTestId, watchPage } from './pageHelpers';

const READY_TIMEOUT = 180_000;
const PORTRAIT = join(projectRoot, 'tests', 'fixtures', 'images', 'astronaut_portrait_1536x2048.jpg');
const env = appInChromium();

describe('a reload mid-personalize', () => {
  test('brings back the photo, the crop and the settings, ready to personalize again', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(page, log, READY_TIMEOUT);
    await page.getByTestId('selfie-input').setInputFiles(PORTRAIT);
    await waitForTestId(page, log, 'crop-confirm', 60_000);
    await page.getByTestId('crop-zoom-in').click();
    await page.getByTestId('crop-zoom-in').click();
    const zoom = await page.getByTestId('crop-zoom').inputValue();
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill('400');
    await page.getByTestId('ft-lr').fill('0.0002');
    await page.getByTestId('personalize').click();
    await waitForTestId(page, log, 'personalize-progress', 60_000);

    await page.reload();
    await waitForReady(page, log, READY_TIMEOUT);
    await waitForTestId(page, log, 'crop-confirm', 30_000);
    expect(await page.getByTestId('crop-zoom').inputValue()).toBe(zoom);
    expect(await page.getByTestId('crop-confirm').textContent()).toMatch(/confirmed/);
    expect(await page.getByTestId('ft-steps').inputValue()).toBe('400');
    expect(await page.getByTestId('ft-lr').inputValue()).toBe('0.0002');
    expect(await page.locator('body').textContent()).toContain('interrupted by a reload');
    expect(await page.getByTestId('personalize').isDisabled()).toBe(false);
    await context.close();
  });
});
