// The real app in real chromium: Vite dev server, the worker, onnxruntime-web on SwiftShader
// WebGPU and on WASM, the embedded tiny pack. Steps are kept tiny because SwiftShader is slow.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { appInChromium, launchBrowser, launchPersistentBrowser, projectRoot } from './harness';
import { readGalleryPixels, watchPage } from './pageHelpers';

interface ManifestFiles {
  id: string;
  files: { path: string; size: number }[];
  models: { unet: { file: string } };
  tokenizer: string;
}

const packDir = join(projectRoot, 'public', 'models', 'tiny');
const manifest = JSON.parse(readFileSync(join(packDir, 'manifest.json'), 'utf8')) as ManifestFiles;

const READY_TIMEOUT = 180_000;
const GENERATE_TIMEOUT = 240_000;

const SETTINGS = { prompt: 'a photo of a face as a Pixar character', seed: '1234', steps: '3', guidance: '7.5', scheduler: 'ddim' };

const env = appInChromium();

async function statusText(page: Page): Promise<string> {
  return (await page.getByTestId('status').textContent()) ?? '';
}

/** Waits until the status line starts with "Ready"; fails early with the page's error if one shows. */
async function waitReady(page: Page, log: string[]): Promise<string> {
  const outcome = await page.waitForFunction(
    () => {
      const status = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      const error = document.querySelector('[data-testid="error"]')?.textContent ?? '';
      if (status.startsWith('Ready')) return { ok: true, text: status };
      if (status.startsWith('Could not load') || (error && !status.startsWith('Downloading') && !status.startsWith('Loading'))) {
        return { ok: false, text: `${status} | ${error}` };
      }
      return false;
    },
    undefined,
    { timeout: READY_TIMEOUT, polling: 250 },
  );
  const { ok, text } = (await outcome.jsonValue()) as { ok: boolean; text: string };
  if (!ok) throw new Error(`pack did not load: ${text}\n${log.join('\n')}`);
  return text;
}

async function fillSettings(page: Page, s: typeof SETTINGS): Promise<void> {
  await page.getByTestId('prompt').fill(s.prompt);
  await page.getByTestId('seed').fill(s.seed);
  await page.getByTestId('steps').fill(s.steps);
  await page.getByTestId('guidance').fill(s.guidance);
  await page.getByTestId('scheduler').selectOption(s.scheduler);
}

/** Clicks Generate and returns the RGBA pixels of the newest gallery image, read back in the page. */
async function generateAndReadPixels(page: Page, log: string[]): Promise<{ rgba: Uint8Array; width: number; height: number; ms: number }> {
  const before = await page.getByTestId('gallery-image').count();
  const t0 = Date.now();
  await page.getByTestId('generate').click();
  const outcome = await page.waitForFunction(
    (n) => {
      if (document.querySelectorAll('[data-testid="gallery-image"]').length > n) return 'done';
      const busy = (document.querySelector('[data-testid="generate"]') as HTMLButtonElement | null)?.disabled;
      const error = document.querySelector('[data-testid="error"].banner-error')?.textContent;
      return !busy && error ? `error: ${error}` : false;
    },
    before,
    { timeout: GENERATE_TIMEOUT, polling: 250 },
  );
  const state = (await outcome.jsonValue()) as string;
  if (state !== 'done') throw new Error(`generate failed: ${state}\n${log.join('\n')}`);
  const ms = Date.now() - t0;
  return { ...(await readGalleryPixels(page)), ms };
}

function channelStats(rgba: Uint8Array): { distinct: number; min: number; max: number } {
  const seen = new Set<number>();
  let min = 255;
  let max = 0;
  for (let i = 0; i < rgba.length; i++) {
    if (i % 4 === 3) continue;
    seen.add(rgba[i]);
    min = Math.min(min, rgba[i]);
    max = Math.max(max, rgba[i]);
  }
  return { distinct: seen.size, min, max };
}

describe('HyperBooth in chromium', () => {
  let webgpuImage: { rgba: Uint8Array; width: number; height: number } | undefined;

  test('loads the tiny pack on WebGPU and generates a non-constant image', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    const t0 = Date.now();
    // SwiftShader is a software adapter, so the app would pick WASM by itself: force WebGPU
    await page.goto(`${env.server.url}?backend=webgpu`);
    const ready = await waitReady(page, log);
    const loadMs = Date.now() - t0;
    expect(ready).toBe('Ready');
    expect(await page.getByTestId('backend').textContent()).toBe('WebGPU');
    expect(await page.getByTestId('error').count()).toBe(0);

    await fillSettings(page, SETTINGS);
    const out = await generateAndReadPixels(page, log);
    const stats = channelStats(out.rgba);
    console.log(`[e2e] WebGPU: pack ready in ${loadMs} ms, ${SETTINGS.steps}-step image in ${out.ms} ms, ` +
      `${out.width}×${out.height}, ${stats.distinct} distinct channel values in [${stats.min}, ${stats.max}]`);
    expect(out.width * out.height).toBeGreaterThan(0);
    expect(stats.distinct).toBeGreaterThan(16);
    expect(stats.max - stats.min).toBeGreaterThan(32);
    // The download link names the prompt and the seed.
    expect(await page.getByTestId('download').first().getAttribute('download')).toBe(
      'a-photo-of-a-face-as-a-pixar-character-seed1234.png',
    );
    webgpuImage = out;
    await page.context().close();
  });

  test('the same seed on WASM gives the WebGPU pixels within 2/255 on average', async () => {
    expect(webgpuImage, 'the WebGPU test must run first').toBeDefined();
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitReady(page, log);
    expect(await page.getByTestId('backend').textContent()).toBe('WASM');

    await fillSettings(page, SETTINGS);
    const out = await generateAndReadPixels(page, log);
    expect([out.width, out.height]).toEqual([webgpuImage!.width, webgpuImage!.height]);
    let sum = 0;
    let max = 0;
    let n = 0;
    for (let i = 0; i < out.rgba.length; i++) {
      if (i % 4 === 3) continue;
      const d = Math.abs(out.rgba[i] - webgpuImage!.rgba[i]);
      sum += d;
      max = Math.max(max, d);
      n++;
    }
    const mean = sum / n;
    console.log(`[e2e] WASM: ${SETTINGS.steps}-step image in ${out.ms} ms; |WASM − WebGPU| mean ${mean.toFixed(4)}/255, max ${max}/255`);
    expect(mean).toBeLessThanOrEqual(2);

    // Same seed, same backend: the same pixels, bit for bit.
    const again = await generateAndReadPixels(page, log);
    expect(Buffer.from(again.rgba).equals(Buffer.from(out.rgba))).toBe(true);
    await page.context().close();
  });

  test('a bad seed is refused; a prompt over 77 tokens is truncated with a visible note', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=wasm`);
    await waitReady(page, log);
    // A bad number is refused with a message, not sent to the worker.
    await fillSettings(page, { ...SETTINGS, seed: '-3' });
    await page.getByTestId('generate').click();
    expect(await page.getByTestId('error').textContent()).toContain('Seed must be a whole number');
    expect(await page.getByTestId('gallery-image').count()).toBe(0);

    const longPrompt = Array.from({ length: 60 }, () => 'a photo of a face').join(' ');
    await fillSettings(page, { ...SETTINGS, prompt: longPrompt, steps: '1' });
    await generateAndReadPixels(page, log);
    const note = page.getByTestId('error');
    await note.waitFor({ timeout: 10_000 });
    const text = (await note.textContent()) ?? '';
    console.log(`[e2e] truncation note: ${text}`);
    expect(text).toContain('Prompt truncated');
    expect(text).toContain('77 tokens');
    expect(await note.getAttribute('role')).toBe('alert');
    // The image still came out, and its card carries the note too.
    expect(await page.locator('.gallery-note').first().textContent()).toContain('77 tokens');
    await page.context().close();
  });

  test('a reload reads the pack from the cache instead of downloading it again', async () => {
    const persistent = await launchPersistentBrowser();
    try {
      const context: BrowserContext = persistent.context;
      const packRequests: string[] = [];
      // Context-wide, so requests made by the worker count too.
      context.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (path.includes('/models/tiny/') && !path.endsWith('/manifest.json')) packRequests.push(path);
      });
      const page = context.pages()[0] ?? (await context.newPage());
      const log = watchPage(page);
      await page.goto(`${env.server.url}?backend=wasm`);
      expect(await waitReady(page, log)).toBe('Ready');
      const firstLoad = packRequests.length;
      expect(firstLoad).toBeGreaterThanOrEqual(manifest.files.length);

      const t0 = Date.now();
      await page.reload();
      expect(await waitReady(page, log)).toBe('Ready (from cache)');
      console.log(`[e2e] reload: ready from cache in ${Date.now() - t0} ms; pack requests ${firstLoad} then ${packRequests.length - firstLoad}`);
      expect(packRequests.slice(firstLoad)).toEqual([]);
    } finally {
      await persistent.close();
    }
  });

  test('without WebGPU the app runs on WASM and says why', async () => {
    const noGpu = await launchBrowser({ webgpu: false });
    try {
      const page = await noGpu.newPage();
      const log = watchPage(page);
      await page.goto(env.server.url);
      await waitReady(page, log);
      expect(await page.getByTestId('backend').textContent()).toBe('WASM');
      const notice = (await page.getByTestId('backend-notice').textContent()) ?? '';
      console.log(`[e2e] no-WebGPU notice: ${notice}`);
      expect(notice).toMatch(/^WebGPU is not available/);
    } finally {
      await noGpu.close();
    }
  });

  describe('a broken pack names the file', () => {
    async function loadWithBrokenFile(file: string, fulfil: 'missing' | 'corrupt'): Promise<string> {
      const context = await env.browser.newContext();
      try {
        await context.route(`**/models/tiny/${file}`, async (route) => {
          if (fulfil === 'missing') return route.fulfill({ status: 404, body: 'not found' });
          const original = await route.fetch();
          const body = Buffer.from(await original.body());
          // Same length, different bytes: only the sha256 check can catch it.
          for (let i = 0; i < body.length; i += 97) body[i] ^= 0x5a;
          return route.fulfill({ response: original, body });
        });
        const page = await context.newPage();
        const log = watchPage(page);
        await page.goto(`${env.server.url}?backend=wasm`);
        const error = page.getByTestId('error');
        await error.waitFor({ timeout: READY_TIMEOUT });
        const text = (await error.textContent()) ?? '';
        expect(await error.getAttribute('role')).toBe('alert');
        expect(await statusText(page)).toMatch(/^Could not load/);
        expect(await page.getByTestId('generate').isDisabled()).toBe(true);
        expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
        return text;
      } finally {
        await context.close();
      }
    }

    test('a corrupt UNet file', async () => {
      const file = manifest.models.unet.file;
      const text = await loadWithBrokenFile(file, 'corrupt');
      expect(text).toContain(file);
      expect(text).toMatch(/sha256/);
    });

    test('a missing tokenizer file', async () => {
      const text = await loadWithBrokenFile(manifest.tokenizer, 'missing');
      expect(text).toContain(manifest.tokenizer);
      expect(text).toMatch(/404/);
    });

    test('a corrupt manifest', async () => {
      const context = await env.browser.newContext();
      try {
        await context.route('**/models/tiny/manifest.json', (route) =>
          route.fulfill({ status: 200, contentType: 'application/json', body: '{"format": "hyperbooth-pack/1", "id": ' }),
        );
        const page = await context.newPage();
        await page.goto(env.server.url);
        const error = page.getByTestId('error');
        await error.waitFor({ timeout: READY_TIMEOUT });
        expect(await error.textContent()).toContain('manifest.json');
      } finally {
        await context.close();
      }
    });
  });
});
