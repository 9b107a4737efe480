// A reload in the middle of personalizing (issue 13, item 9): the photo, the crop as it was
// moved and the Personalize settings come back (the kept-selfie store, storage/lastSelfie.ts),
// the card says why, and pressing Personalize runs with them. Real worker, WASM, the tiny pack.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { appInChromium, projectRoot } from './harness';
import { screenshot, waitForReady, waitForTestId, watchPage } from './pageHelpers';

const READY_TIMEOUT = 180_000;
const PERSONALIZE_TIMEOUT = 300_000;
const PORTRAIT = join(projectRoot, 'tests', 'fixtures', 'images', 'astronaut_portrait_1536x2048.jpg');
const env = appInChromium();

describe('a reload mid-personalize', () => {
  test('brings back the photo, the crop and the settings, and Personalize runs again with them', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(page, log, READY_TIMEOUT);
    await page.getByTestId('selfie-input').setInputFiles(PORTRAIT);
    await waitForTestId(page, log, 'crop-confirm', 60_000);
    await page.getByTestId('crop-zoom-in').click();
    await page.getByTestId('crop-zoom-in').click();
    const box = await page.getByTestId('crop-box').getAttribute('style');
    const zoom = await page.getByTestId('crop-zoom').inputValue();
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill('400');
    await page.getByTestId('ft-lr').fill('0.0002');
    await page.getByTestId('ft-rank').fill('2');
    await page.getByTestId('ft-seed').fill('5');
    await page.getByTestId('ft-relaxation').selectOption('aux-subspace');
    await page.getByTestId('personalize').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent?.startsWith('Personalizing: fine-tune'), undefined, {
      timeout: PERSONALIZE_TIMEOUT,
      polling: 100,
    });

    await page.reload();
    await waitForReady(page, log, READY_TIMEOUT);
    await waitForTestId(page, log, 'personalize-resumed', 30_000);
    expect(await page.getByTestId('personalize-resumed').textContent()).toContain('A reload stopped the last personalization');
    expect(await page.getByTestId('crop-box').getAttribute('style')).toBe(box);
    expect(await page.getByTestId('crop-zoom').inputValue()).toBe(zoom);
    expect(await page.getByTestId('crop-confirm').textContent()).toMatch(/confirmed/);
    const fields = async () => ({
      steps: await page.getByTestId('ft-steps').inputValue(),
      lr: await page.getByTestId('ft-lr').inputValue(),
      rank: await page.getByTestId('ft-rank').inputValue(),
      seed: await page.getByTestId('ft-seed').inputValue(),
      relaxation: await page.getByTestId('ft-relaxation').inputValue(),
    });
    expect(await fields()).toEqual({ steps: '400', lr: '0.0002', rank: '2', seed: '5', relaxation: 'aux-subspace' });
    expect(await page.getByTestId('personalize').isEnabled()).toBe(true);
    await screenshot(page, 'personalize-resumed-after-reload');

    // fewer steps so the test stays short; the rest runs as it was set before the reload
    await page.getByTestId('ft-steps').fill('2');
    await page.getByTestId('personalize').click();
    expect(await page.getByTestId('personalize-resumed').count()).toBe(0);
    await waitForTestId(page, log, 'personalized', PERSONALIZE_TIMEOUT);
    expect(await page.getByTestId('active-name').textContent()).toBe('astronaut portrait 1536x2048');
    expect(await page.getByTestId('personalized-steps').textContent()).toMatch(/^Fine-tune: 2 steps, lr 0\.0002, seed 5/);

    // the run ended in its tab: the next reload has nothing to put back
    await page.reload();
    await waitForReady(page, log, READY_TIMEOUT);
    await waitForTestId(page, log, 'crop-confirm', 30_000);
    await page.waitForTimeout(1000);
    expect(await page.getByTestId('personalize-resumed').count()).toBe(0);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await context.close();
  });
});
