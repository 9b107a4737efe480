// Two tabs of the app in one browser profile share IndexedDB: what one saves, renames or deletes
// shows in the other without a reload (BroadcastChannel). The record is written in tab A through
// the app's own storage module (as a save after a fine-tune does), then changed through the UI.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { appInChromium } from './harness';
import { waitForReady, watchPage } from './pageHelpers';

const READY_TIMEOUT = 180_000;
const env = appInChromium();

const names = (page: Page) =>
  page.evaluate(() => [...document.querySelectorAll('[data-testid="personalization-name"]')].map((e) => e.textContent ?? ''));

async function namesBecome(page: Page, expected: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('[data-testid="personalization-name"]')].map((e) => e.textContent)) === JSON.stringify(want),
    expected,
    { timeout: 15_000, polling: 100 },
  );
}

describe('two tabs', () => {
  test('see each other save, rename and delete a personalization without reloading', async () => {
    const context = await env.browser.newContext();
    const [a, b] = [await context.newPage(), await context.newPage()];
    const logA = watchPage(a);
    const logB = watchPage(b);
    await a.goto(`${env.server.url}?backend=wasm`);
    await b.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(a, logA, READY_TIMEOUT);
    await waitForReady(b, logB, READY_TIMEOUT);
    expect(await names(a)).toEqual([]);
    expect(await names(b)).toEqual([]);

    // a string, so vitest does not rewrite the page's dynamic import into its own loader
    await a.evaluate(`(async () => {
      const storage = await import('/src/app/storage/personalizations.ts');
      const weightsFile = new Uint8Array([1, 2, 3, 4]);
      await storage.addPersonalization({
        id: 'two-tabs-1', name: 'Saved in A', createdAt: Date.now(), packId: 'tiny', trigger: 'sks', rank: 1,
        source: 'import', weightsFile, sha256: await storage.sha256Hex(weightsFile),
      });
    })()`);
    await namesBecome(b, ['Saved in A']);

    await b.getByTestId('personalization-rename').click();
    await b.getByTestId('personalization-rename-input').fill('Renamed in B');
    await b.getByTestId('personalization-rename-input').press('Enter');
    await namesBecome(a, ['Renamed in B']);

    await a.getByTestId('personalization-delete').click();
    await a.getByTestId('personalization-delete-confirm').click();
    await namesBecome(b, []);
    expect(await names(a)).toEqual([]);
    expect(logA.concat(logB).filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await context.close();
  });
});
