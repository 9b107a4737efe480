// A personalization exported as kohya / PEFT LoRA and imported back through "Import LoRA" gives
// the same images as the LiDB it came from; bad LoRA files are refused clearly; the weights in
// use (LiDB or LoRA) come back by themselves after a reload. WASM throughout: the slots, the
// files and IndexedDB are the point here, not WebGPU.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Download, Page } from 'playwright-core';
import { launchBrowser, projectRoot, startServer, type TestServer } from './harness';
import { readGalleryPixels, setSampling } from './pageHelpers';
import { writeSafetensors } from '../../src/safetensors';

const PORTRAIT = join(projectRoot, 'tests', 'fixtures', 'images', 'astronaut_portrait_1536x2048.jpg');
const TIMEOUT = 180_000;
const SAMPLING = { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '5', count: '1' };

let server: TestServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  context = await browser.newContext({ acceptDownloads: true });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent()) ?? '';

/** Waits until `ready` holds in the page, failing early with the error banner's text. */
async function until(page: Page, log: string[], what: string, ready: string): Promise<void> {
  const outcome = await page.waitForFunction(
    (cond) => {
      if (new Function(`return (${cond})`)()) return 'ok';
      const error = document.querySelector('[data-testid="error"].banner-error')?.textContent;
      return error ? `error: ${error}` : false;
    },
    ready,
    { timeout: TIMEOUT, polling: 250 },
  );
  const state = await outcome.jsonValue();
  if (state !== 'ok') throw new Error(`waiting for ${what}: ${state}\n${log.join('\n')}`);
}

const present = (testId: string, n = 1) => `document.querySelectorAll('[data-testid="${testId}"]').length >= ${n}`;

async function open(page: Page, log: string[]): Promise<void> {
  await page.goto(`${server.url}?backend=wasm`);
  await until(page, log, 'the pack', `(document.querySelector('[data-testid="status"]')?.textContent ?? '').startsWith('Ready')`);
  await until(page, log, 'the library', `!(document.querySelector('.library')?.textContent ?? 'Loading…').includes('Loading…')`);
}

async function generatePixels(page: Page, log: string[]): Promise<Uint8Array> {
  if ((await page.getByTestId('style-option').nth(0).getAttribute('aria-pressed')) !== 'true') await page.getByTestId('style-option').nth(0).click();
  await setSampling(page, SAMPLING);
  const before = await page.getByTestId('gallery-image').count();
  await page.getByTestId('generate').click();
  await until(page, log, 'the image', present('gallery-image', before + 1));
  return (await readGalleryPixels(page)).rgba;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Buffer }> {
  const [d]: [Download, void] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId(testId).click()]);
  return { name: d.suggestedFilename(), bytes: await readFile(await d.path()) };
}

async function importLora(page: Page, name: string, buffer: Buffer): Promise<void> {
  await page.getByTestId('lora-import').setInputFiles({ name, mimeType: 'application/octet-stream', buffer });
}

describe('Import LoRA in chromium', () => {
  test('kohya and PEFT exports imported back generate the LiDB image; bad files are refused; the weights in use survive a reload', async () => {
    const page = await context.newPage();
    const log: string[] = [];
    const errors: string[] = [];
    page.on('pageerror', (e) => {
      errors.push(e.message);
      log.push(`pageerror: ${e.message}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error') log.push(`console.error: ${m.text()}`);
    });
    const t0 = Date.now();
    await open(page, log);

    // A quick personalization (2 fine-tune steps), its image, its kohya and PEFT files.
    await page.getByTestId('selfie-input').setInputFiles(PORTRAIT);
    await until(page, log, 'the crop', present('crop-confirm'));
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill('2');
    await page.getByTestId('personalize').click();
    await until(page, log, 'the personal weights', present('personalized'));
    const name = await text(page, 'active-name');
    await until(page, log, 'the saved record', present('personalization-item'));
    const withLidb = await generatePixels(page, log);
    // without personal weights the image differs, so equal images below mean the weights applied
    await page.getByRole('button', { name: 'Stop using' }).click();
    await until(page, log, 'the weights off', `document.querySelectorAll('[data-testid="personalized"]').length === 0`);
    const without = await generatePixels(page, log);
    expect(meanAbsDiff(without, withLidb)).toBeGreaterThan(0);
    await page.getByTestId('personalization-use').click();
    await until(page, log, 'the weights on again', present('personalized'));
    const kohya = await download(page, 'download-kohya');
    const peft = await download(page, 'download-peft');

    // After a reload the personalization is in use again without clicking Use.
    await page.reload();
    await open(page, log);
    await until(page, log, 'the restored personalization', present('personalized'));
    expect(await text(page, 'active-name')).toBe(name);

    // The kohya file through "Import LoRA": every layer set, the same image as the LiDB.
    await importLora(page, kohya.name, kohya.bytes);
    await until(page, log, 'the kohya import', present('lora-import-result'));
    const layers = Number(/applied to (\d+) of (\d+) layers/.exec(await text(page, 'lora-import-result'))?.[2]);
    expect(await text(page, 'lora-import-result')).toBe(`kohya LoRA at strength 1: applied to ${layers} of ${layers} layers`);
    expect(await text(page, 'active-name')).not.toBe(name);
    expect(await page.locator('.personalized-meta').first().textContent()).toContain('LoRA');
    expect(await page.getByTestId('download-lidb').isDisabled()).toBe(true);
    const withKohya = await generatePixels(page, log);
    const kohyaDiff = meanAbsDiff(withKohya, withLidb);
    expect(kohyaDiff).toBeLessThanOrEqual(1);

    // The PEFT file likewise, at strength 1 (the slider's default).
    await importLora(page, peft.name, peft.bytes);
    await until(page, log, 'the PEFT import', `document.querySelector('[data-testid="lora-import-result"]')?.textContent?.startsWith('PEFT')`);
    expect(await text(page, 'lora-import-result')).toBe(`PEFT LoRA at strength 1: applied to ${layers} of ${layers} layers`);
    const withPeft = await generatePixels(page, log);
    const peftDiff = meanAbsDiff(withPeft, withLidb);
    expect(peftDiff).toBeLessThanOrEqual(1);
    const peftName = await text(page, 'active-name');
    await until(page, log, 'three saved records', present('personalization-item', 3));

    // Bad files: a clear error each, the PEFT LoRA stays in use, nothing crashes.
    await importLora(page, 'junk.safetensors', Buffer.from('this is not a safetensors file at all'));
    await until(page, log, 'the junk error', `document.querySelector('[data-testid="error"]')?.textContent?.includes('Could not import junk.safetensors as a LoRA')`);
    const sdxl = writeSafetensors(
      [
        { name: 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight', dtype: 'F32', shape: [1, 640], bytes: new Uint8Array(640 * 4) },
        { name: 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight', dtype: 'F32', shape: [640, 1], bytes: new Uint8Array(640 * 4) },
      ],
      {},
    );
    await importLora(page, 'sdxl.safetensors', Buffer.from(sdxl));
    await until(page, log, 'the SDXL error', `document.querySelector('[data-testid="error"]')?.textContent?.includes('Could not import sdxl.safetensors as a LoRA')`);
    expect(await text(page, 'error')).toContain('looks like a LoRA for SDXL or another model');
    // A LoRA given to the LiDB import points to the LoRA import, which is right there.
    await page.getByTestId('lidb-import').setInputFiles({ name: kohya.name, mimeType: 'application/octet-stream', buffer: kohya.bytes });
    await until(page, log, 'the LiDB error', `document.querySelector('[data-testid="error"]')?.textContent?.includes('Could not import ${kohya.name}')`);
    expect(await text(page, 'error')).toContain('"Import LoRA (kohya / PEFT)"');
    expect(await page.getByText('Import LoRA (kohya / PEFT)', { exact: true }).count()).toBe(1);
    expect(await text(page, 'active-name')).toBe(peftName);
    expect(await page.getByTestId('personalization-item').count()).toBe(3);

    // Reloaded: the imported LoRA in use comes back by itself, with its kind and strength.
    await page.reload();
    await open(page, log);
    await until(page, log, 'the restored LoRA', present('personalized'));
    expect(await text(page, 'active-name')).toBe(peftName);
    expect(await page.locator('.personalized-meta').first().textContent()).toContain('strength 1');
    const restored = await generatePixels(page, log);
    expect(meanAbsDiff(restored, withPeft)).toBe(0);
    // "Stop using" is remembered too: after a reload nothing is switched on
    await page.getByRole('button', { name: 'Stop using' }).click();
    await until(page, log, 'the weights off', `document.querySelectorAll('[data-testid="personalized"]').length === 0`);
    await page.reload();
    await open(page, log);
    await until(page, log, 'the list', present('personalization-item', 3));
    // a wrongly restored record would show within a worker round trip; give it one
    await page.waitForTimeout(1500);
    expect(await page.getByTestId('personalized').count()).toBe(0);

    console.log(
      `[e2e] LoRA import (WASM): kohya vs LiDB mean |Δ| ${kohyaDiff.toFixed(4)}, PEFT ${peftDiff.toFixed(4)}, no weights vs LiDB ${meanAbsDiff(without, withLidb).toFixed(4)} (of 255); whole test ${Date.now() - t0} ms`,
    );
    expect(errors).toEqual([]);
    await page.close();
  });
});
