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
