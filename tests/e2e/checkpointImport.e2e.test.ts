// "Add a model from a file…" in chromium: a miniature SD1.5 checkpoint (the original single-file
// layout, tests/fixtures/checkpoint) is converted in the worker with no request leaving the page's
// origin, stored in the browser (OPFS) and listed with its size; the app then generates and
// personalizes (2 fine-tune steps) on it, and loads it again with the network off. A refused
// file shows the checkpoint error's message and leaves nothing in storage, nor does Cancel;
// Delete frees the space.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { appInChromium, projectRoot } from './harness';
import { screenshot, setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';
import { writeSafetensors } from '../../src/safetensors';

const CHECKPOINT = join(projectRoot, 'tests', 'fixtures', 'checkpoint', 'sd15-mini-f16.safetensors');
const PORTRAIT = join(projectRoot, 'tests', 'fixtures', 'images', 'astronaut_portrait_1536x2048.jpg');
const TIMEOUT = 240_000;
const SAMPLING = { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '5', count: '1' };
const PACK_NAME = 'Stable Diffusion (sd15-mini-f16)';

const env = appInChromium();

/** Folder names under OPFS's hyperbooth-packs, finished or not. */
const opfsFolders = (page: Page) => page.evaluate(async () => {
  const root = await navigator.storage.getDirectory();
  let dir: FileSystemDirectoryHandle;
  try {
    dir = await root.getDirectoryHandle('hyperbooth-packs');
  } catch {
    return [];
  }
  const names: string[] = [];
  for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
  return names.sort();
});

async function addCheckpoint(page: Page, name: string, buffer: Buffer, imageSize = '16'): Promise<void> {
  await page.getByTestId('checkpoint-image-size').fill(imageSize);
  await page.getByTestId('checkpoint-file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer });
}

async function waitForImportEnd(page: Page, log: string[]): Promise<string> {
  const outcome = await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="checkpoint-result"], [data-testid="checkpoint-error"]');
    return el ? `${el.getAttribute('data-testid')}: ${el.textContent}` : false;
  }, undefined, { timeout: TIMEOUT, polling: 100 });
  const text = (await outcome.jsonValue()) as string;
  if (!text) throw new Error(`the import did not end\n${log.join('\n')}`);
  return text;
}

/** Waits until the status line says the stored pack is loaded. */
async function storedPackReady(page: Page, log: string[]): Promise<void> {
  const outcome = await page.waitForFunction(() => {
    const status = document.querySelector('[data-testid="status"]')?.textContent ?? '';
    return status.startsWith('Ready (stored in this browser)') || status.startsWith('Could not load') ? status : false;
  }, undefined, { timeout: TIMEOUT, polling: 100 });
  const status = (await outcome.jsonValue()) as string;
  if (!status.startsWith('Ready')) throw new Error(`the stored pack did not load: ${status}\n${log.join('\n')}`);
}

async function open(page: Page, log: string[]): Promise<void> {
  await page.goto(`${env.server.url}?backend=wasm`);
  await waitForReady(page, log, TIMEOUT);
}

describe('a Stable Diffusion checkpoint added in the browser', () => {
  test('converted on the page\'s origin only, stored and listed, then generates and personalizes (2 steps), offline too', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const log = watchPage(page);
    await open(page, log);
    expect(await page.getByTestId('stored-pack').count()).toBe(0);

    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const t0 = Date.now();
    await addCheckpoint(page, 'sd15-mini-f16.safetensors', readFileSync(CHECKPOINT));
    await waitForTestId(page, log, 'checkpoint-progress', TIMEOUT);
    const ended = await waitForImportEnd(page, log);
    const convertMs = Date.now() - t0;
    expect(ended, log.join('\n')).toMatch(new RegExp(`^checkpoint-result: Added ${PACK_NAME.replace(/[()]/g, '\\$&')} \\([\\d.]+ MB, stored in this browser\\)$`));
    // nothing uploaded: every request the conversion made went to the page's own origin
    const origin = new URL(env.server.url).origin;
    const away = requests.filter((u) => /^https?:/.test(u) && new URL(u).origin !== origin);
    expect(away).toEqual([]);

    // the new pack is listed with its size, and loads (from OPFS) as the pack in use
    // (the list is read again from OPFS once the import reports: it may show a moment later)
    const stored = page.getByTestId('stored-pack');
    await expect.poll(() => stored.count(), { timeout: 30_000, interval: 100 }).toBe(1);
    expect(await stored.getByTestId('pack-size').textContent()).toMatch(/^Stored in this browser · [\d.]+ MB$/);
    await storedPackReady(page, log);
    expect(await stored.locator('input[type=radio]').isChecked()).toBe(true);
    expect(await opfsFolders(page)).toEqual(['sd15-mini-f16']);
    await screenshot(page, 'checkpoint-import-added');

    // generate on it: a 16×16 image
    await page.getByTestId('prompt').fill('a photo of a sks person');
    await setSampling(page, SAMPLING);
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', TIMEOUT, 1);
    const size = await page.getByTestId('gallery-image').first().evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    expect(size).toEqual([16, 16]);

    // personalize on it: 2 fine-tune steps through the pack's train graphs
    await page.getByTestId('selfie-input').setInputFiles(PORTRAIT);
    await waitForTestId(page, log, 'crop-confirm', TIMEOUT);
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill('2');
    await page.getByTestId('personalize').click();
    await waitForTestId(page, log, 'personalized', TIMEOUT);
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', TIMEOUT, 2);

    // the stored pack needs no network: load it again offline and generate
    await context.setOffline(true);
    await page.getByTestId('stored-pack').locator('input[type=radio]').check();
    await page.getByTestId('pack-load').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid="status"]')?.textContent ?? '').startsWith('Loading'), undefined, { timeout: 30_000, polling: 50 }).catch(() => undefined);
    await storedPackReady(page, log);
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', TIMEOUT, 3);
    await context.setOffline(false);
    // it is the pack chosen for the next visit: a reload loads it from storage again
    await page.reload();
    await storedPackReady(page, log);
    expect(await page.getByTestId('stored-pack').locator('input[type=radio]').isChecked()).toBe(true);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    console.log(`[e2e] checkpoint import: ${(readFileSync(CHECKPOINT).byteLength / 1e6).toFixed(1)} MB miniature converted in ${convertMs} ms (through the UI, WASM page)`);
    await context.close();
  });

  test('refused files show the checkpoint error and keep nothing, nor does Cancel; Delete frees a stored pack', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const log = watchPage(page);
    await open(page, log);

    const refusals: [string, Buffer, RegExp][] = [
      // a PyTorch pickle (.ckpt): never unpickled
      ['model.ckpt', Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, ...Buffer.from('state_dict')]), /pickle.*safetensors/i],
      ['cut.safetensors', readFileSync(CHECKPOINT).subarray(0, 600_000), /cut\.safetensors is truncated/],
      ['face-lora.safetensors', Buffer.from(writeSafetensors([
        { name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight', dtype: 'F16', shape: [4, 32], bytes: new Uint8Array(256) },
        { name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight', dtype: 'F16', shape: [32, 4], bytes: new Uint8Array(256) },
      ])), /LoRA/],
    ];
    for (const [name, bytes, message] of refusals) {
      await addCheckpoint(page, name, bytes);
      const ended = await waitForImportEnd(page, log);
      expect(ended).toMatch(new RegExp(`^checkpoint-error: Not added: ${name.replace('.', '\\.')}`));
      expect(ended).toMatch(message);
      expect(await opfsFolders(page), name).toEqual([]);
      expect(await page.getByTestId('stored-pack').count()).toBe(0);
    }
    await screenshot(page, 'checkpoint-import-refused');

    // Cancel while the import is under way, its folder already made (the worker holds it there:
    // the miniature converts faster than a click reliably lands mid-way); the folder goes with it
    await page.evaluate(() => window.__hyperbooth!.api.holdNextImportForTest());
    await addCheckpoint(page, 'sd15-mini-f16.safetensors', readFileSync(CHECKPOINT));
    await expect.poll(() => opfsFolders(page), { timeout: TIMEOUT, interval: 50 }).toEqual(['sd15-mini-f16']);
    await page.getByTestId('checkpoint-cancel').click();
    expect(await waitForImportEnd(page, log)).toBe('checkpoint-result: Cancelled: nothing was kept.');
    expect(await opfsFolders(page)).toEqual([]);
    expect(await page.getByTestId('stored-pack').count()).toBe(0);

    // a pack stored, then deleted: listed, then gone with its space
    await addCheckpoint(page, 'sd15-mini-f16.safetensors', readFileSync(CHECKPOINT));
    expect(await waitForImportEnd(page, log)).toMatch(/^checkpoint-result: Added/);
    await storedPackReady(page, log);
    expect(await opfsFolders(page)).toEqual(['sd15-mini-f16']);
    const used = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    await page.getByTestId('stored-pack-delete').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="stored-pack"]').length === 0, undefined, { timeout: 30_000 });
    expect(await page.getByTestId('cache-status').textContent()).toMatch(/Deleted Stable Diffusion \(sd15-mini-f16\): [\d.]+ MB freed/);
    expect(await opfsFolders(page)).toEqual([]);
    const after = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    expect(after).toBeLessThan(used);
    // the deleted pack is no longer the choice a reload starts with
    await page.reload();
    await waitForReady(page, log, TIMEOUT);
    expect(await page.getByTestId('stored-pack').count()).toBe(0);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await context.close();
  });
});
