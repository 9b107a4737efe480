// Page helpers the app's browser tests share: collecting what the page reports, and reading
// back the pixels of a generated image.
import type { Page } from 'playwright-core';

/** Page errors and console errors, so a failing test says what the page said. */
export function watchPage(page: Page): string[] {
  const log: string[] = [];
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') log.push(`console.error: ${m.text()}`);
  });
  return log;
}

/** RGBA pixels of the newest gallery image, drawn onto a canvas in the page and read back. */
export async function readGalleryPixels(page: Page): Promise<{ rgba: Uint8Array; width: number; height: number }> {
  const pixels = await page.evaluate(async () => {
    const img = document.querySelector('[data-testid="gallery-image"]') as HTMLImageElement;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    return { data: Array.from(data), width: canvas.width, height: canvas.height };
  });
  return { rgba: Uint8Array.from(pixels.data), width: pixels.width, height: pixels.height };
}

export interface Sampling { steps: string; guidance: string; scheduler: string; seed: string; count: string }

/** Fills the sampling fields of the prompt form. */
export async function setSampling(page: Page, s: Sampling): Promise<void> {
  await page.getByTestId('steps').fill(s.steps);
  await page.getByTestId('guidance').fill(s.guidance);
  await page.getByTestId('scheduler').selectOption(s.scheduler);
  await page.getByTestId('seed').fill(s.seed);
  await page.getByTestId('count').fill(s.count);
}

/** Where e2e tests keep their screenshots (gitignored): artefacts of the run, to look at. */
export const ARTIFACTS_DIR = new URL('./artifacts/', import.meta.url);

/** Saves a full-page screenshot as tests/e2e/artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = new URL(`${name}.png`, ARTIFACTS_DIR).pathname;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits for `count` elements with `testId`, failing early with the page's error banner or a failed pack load. */
export async function waitForTestId(page: Page, log: string[], testId: string, timeout: number, count = 1): Promise<void> {
  const outcome = await page.waitForFunction(
    ({ id, n }) => {
      if (document.querySelectorAll(`[data-testid="${id}"]`).length >= n) return 'ok';
      const status = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      if (status.startsWith('Could not load')) return status;
      const error = document.querySelector('[data-testid="error"].banner-error')?.textContent;
      return error ? `error: ${error}` : false;
    },
    { id: testId, n: count },
    { timeout, polling: 250 },
  );
  const state = await outcome.jsonValue();
  if (state !== 'ok') throw new Error(`waiting for ${testId}: ${state}\n${log.join('\n')}`);
}

/** Waits until the status line says Ready (or fails with what it says instead). */
export async function waitForReady(page: Page, log: string[], timeout: number): Promise<string> {
  const outcome = await page.waitForFunction(
    () => {
      const status = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      if (status.startsWith('Ready')) return { ok: true, status };
      return status.startsWith('Could not load') ? { ok: false, status } : false;
    },
    undefined,
    { timeout, polling: 100 },
  );
  const { ok, status } = (await outcome.jsonValue()) as { ok: boolean; status: string };
  if (!ok) throw new Error(`pack did not load: ${status}\n${log.join('\n')}`);
  return status;
}
