// The pack picker in real chromium: packs listed with the download size before it starts, a
// reload mid-download that resumes with a Range request, "Delete cached models", and a pack built
// by `hyperbooth pack` from the committed SD1.5-structured fixture export, loaded through the
// pack URL field, generating and personalizing. Packs other than the embedded one are served by a
// second, cross-origin node:http server (CORS + CORP, as the page's COEP requires) that logs each
// request's Range header and can throttle a file.
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, projectRoot, startServer, type TestServer } from './harness';
import { watchPage as watch } from './pageHelpers';
import { serveWithRange, type RangeServer } from '../unit/packs/rangeServer';
import { packExport } from '../../src/packer';
import type { PackManifest } from '../../src/packs/manifest';

const READY_TIMEOUT = 180_000;
const tinyDir = join(projectRoot, 'public', 'models', 'tiny');
const tiny = JSON.parse(readFileSync(join(tinyDir, 'manifest.json'), 'utf8')) as PackManifest;
const tinyBytes = tiny.files.reduce((a, f) => a + f.size, 0);
const WEIGHTS = 'unet/weights.bin';
const weightsSize = tiny.files.find((f) => f.path === WEIGHTS)!.size;
const PORTRAIT = join(projectRoot, 'tests', 'fixtures', 'images', 'astronaut_portrait_1536x2048.jpg');
const PART_BYTES = 2 * 1024 * 1024; // DEFAULT_PART_BYTES

let server: TestServer;
let packs: RangeServer;
let browser: Browser;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hyperbooth-e2e-packs-'));
  await cp(tinyDir, join(root, 'tiny'), { recursive: true });
  // the packer engineer's fixture export, packed the way a user would (64 px: SwiftShader is slow)
  await packExport({ from: join(projectRoot, 'tests', 'fixtures', 'sd', 'diffusers'), out: join(root, 'sd-fixture'), id: 'sd-fixture', name: 'SD fixture', imageSize: 64 });
  packs = await serveWithRange(root);
  packs.headers = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges',
    'Cross-Origin-Resource-Policy': 'cross-origin',
  };
  server = await startServer();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await packs?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function waitReady(page: Page, log: string[]): Promise<string> {
  const outcome = await page.waitForFunction(
    () => {
      const status = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      if (status.startsWith('Ready')) return { ok: true, text: status };
      const error = document.querySelector('[data-testid="error"].banner-error')?.textContent;
      if (status.startsWith('Could not load') || error) return { ok: false, text: `${status} | ${error ?? ''}` };
      return false;
    },
    undefined,
    { timeout: READY_TIMEOUT, polling: 250 },
  );
  const { ok, text } = (await outcome.jsonValue()) as { ok: boolean; text: string };
  if (!ok) throw new Error(`pack did not load: ${text}\n${log.join('\n')}`);
  return text;
}

async function waitFor(page: Page, log: string[], testId: string, timeout: number): Promise<void> {
  const outcome = await page.waitForFunction(
    (id) => {
      if (document.querySelector(`[data-testid="${id}"]`)) return 'ok';
      const error = document.querySelector('[data-testid="error"].banner-error')?.textContent;
      return error ? `error: ${error}` : false;
    },
    testId,
    { timeout, polling: 250 },
  );
  const state = await outcome.jsonValue();
  if (state !== 'ok') throw new Error(`waiting for ${testId}: ${state}\n${log.join('\n')}`);
}

const urlSize = (page: Page) => page.getByTestId('pack-url-option').getByTestId('pack-size');
const optionSize = (page: Page, id: string) => page.locator(`[data-testid="pack-option"][data-pack-id="${id}"]`).getByTestId('pack-size');

async function sizeText(page: Page, locator: ReturnType<typeof urlSize>, pattern: RegExp): Promise<string> {
  await expect.poll(async () => (await locator.textContent()) ?? '', { timeout: 30_000, interval: 200 }).toMatch(pattern);
  return (await locator.textContent()) ?? '';
}

/** Cache Storage keys of the pack cache, read in the page. */
const cacheKeys = (page: Page) =>
  page.evaluate(async () => (await (await caches.open('hyperbooth-packs-v1')).keys()).map((r) => r.url));

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

describe('pack picker in chromium', () => {
  let context: BrowserContext;
  beforeAll(async () => {
    context = await browser.newContext();
  });
  afterAll(async () => {
    await context?.close();
  });

  test("Vite's dev server answers Range requests for public/ files", async () => {
    const res = await fetch(`${server.url}models/tiny/${WEIGHTS}`, { headers: { Range: 'bytes=1000-' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 1000-${weightsSize - 1}/${weightsSize}`);
    expect((await res.arrayBuffer()).byteLength).toBe(weightsSize - 1000);
  });

  test('lists the packs and shows the download size before a download starts', async () => {
    const page = await context.newPage();
    const log = watch(page);
    await page.goto(server.url);
    await waitReady(page, log);
    const option = page.getByTestId('pack-picker').getByTestId('pack-option');
    expect(await option.count()).toBe(1);
    const text = (await option.textContent()) ?? '';
    expect(text).toContain(tiny.name);
    expect(tiny.name).toBe('Tiny (trained on synthetic portraits)');
    expect(text).toContain('tiny');
    // The option has one size line (issue 14's "small things"): the embedded pack loaded at
    // startup, so it says Cached once the check is done; whether "Download 9.6 MB" is still
    // on screen when Ready arrives is a race. The size before a download is asserted below,
    // on the same pack at another address, which nothing has downloaded.
    await sizeText(page, optionSize(page, 'tiny'), /^Cached$/);

    // the same pack at another address is other cache entries: all of it is to download
    packs.requests.length = 0;
    await page.getByTestId('pack-url').fill(`${packs.url}tiny/manifest.json`);
    expect(await sizeText(page, urlSize(page), /^Download/)).toBe(`Download ${mb(tinyBytes)} MB`);
    // only the manifest was read to say so
    expect(packs.requests.map((r) => r.path)).toEqual(['tiny/manifest.json']);
    await page.close();
  });

  test('a reload mid-download resumes the cut file with a Range request', async () => {
    const page = await context.newPage();
    const log = watch(page);
    await page.goto(server.url);
    await waitReady(page, log);
    // ~640 KB/s for the UNet weights: slow enough to reload after the first saved part
    packs.throttleMs.set(`tiny/${WEIGHTS}`, 100);
    packs.requests.length = 0;
    await page.getByTestId('pack-url').fill(`${packs.url}tiny/manifest.json`);
    await page.getByTestId('pack-load').click();
    await expect
      .poll(async () => (await cacheKeys(page)).some((k) => k.includes(`tiny/${WEIGHTS}`) && k.includes('hyperbooth-part=0')), { timeout: 60_000, interval: 100 })
      .toBe(true);
    const before = packs.requests.filter((r) => r.path === `tiny/${WEIGHTS}`);
    expect(before).toHaveLength(1);
    expect(before[0].range).toBeUndefined();

    packs.throttleMs.clear();
    const cut = packs.requests.length;
    await page.reload();
    // the picked pack (the typed URL) is what loads after the reload
    await waitReady(page, log);
    const after = packs.requests.slice(cut).filter((r) => r.path === `tiny/${WEIGHTS}`);
    expect(after).toHaveLength(1);
    const saved = Number(/^bytes=(\d+)-$/.exec(after[0].range ?? '')?.[1]);
    expect(saved % PART_BYTES).toBe(0);
    expect(saved).toBeGreaterThanOrEqual(PART_BYTES);
    expect(after[0].status).toBe(206);
    expect(after[0].sentBytes).toBe(weightsSize - saved);
    expect(after[0].sentBytes).toBeLessThan(weightsSize);
    // files finished before the reload came from the cache
    const finishedBefore = tiny.files.slice(0, tiny.files.findIndex((f) => f.path === WEIGHTS)).map((f) => `tiny/${f.path}`);
    for (const p of finishedBefore) expect(packs.requests.slice(cut).some((r) => r.path === p)).toBe(false);
    expect(await page.getByTestId('pack-url').inputValue()).toBe(`${packs.url}tiny/manifest.json`);
    await sizeText(page, urlSize(page), /^Cached$/);
    expect((await cacheKeys(page)).some((k) => k.includes('hyperbooth-part='))).toBe(false);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await page.close();
  });

  test('"Delete cached models" shows the space freed and the next load downloads again', async () => {
    const page = await context.newPage();
    const log = watch(page);
    await page.goto(server.url);
    await waitReady(page, log);
    await sizeText(page, urlSize(page), /^Cached$/);
    await page.getByTestId('delete-cache').click();
    // both copies of the tiny pack were cached: the embedded one and the one from the URL
    const status = page.getByTestId('cache-status');
    await expect.poll(async () => (await status.textContent()) ?? '', { timeout: 10_000 }).toMatch(/^Deleted /);
    const freed = Number(/^Deleted ([\d.]+) MB/.exec((await status.textContent()) ?? '')?.[1]);
    expect(freed).toBeCloseTo((2 * tinyBytes) / 1e6, 1);
    expect(await status.textContent()).toMatch(/Storage used: [\d.]+ MB/);
    expect(await cacheKeys(page)).toEqual([]);
    await sizeText(page, urlSize(page), new RegExp(`^Download ${mb(tinyBytes)} MB$`));
    await sizeText(page, optionSize(page, 'tiny'), new RegExp(`^Download ${mb(tinyBytes)} MB$`));

    packs.requests.length = 0;
    await page.getByTestId('pack-load').click();
    await expect.poll(async () => (await page.getByTestId('status').textContent()) ?? '', { timeout: READY_TIMEOUT }).toMatch(/^(Ready|Could not)/);
    expect(await page.getByTestId('status').textContent()).toBe('Ready');
    const fetched = packs.requests.filter((r) => r.path !== 'tiny/manifest.json');
    expect(fetched.map((r) => r.path).sort()).toEqual(tiny.files.map((f) => `tiny/${f.path}`).sort());
    expect(fetched.every((r) => r.status === 200 && r.range === undefined)).toBe(true);
    await sizeText(page, urlSize(page), /^Cached$/);
    await page.close();
  });
});

/** The app ready in a fresh browser context (no cache, no saved state), closed when `use` ends. */
async function inFreshApp(use: (page: Page, log: string[]) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const log = watch(page);
    await page.goto(server.url);
    await waitReady(page, log);
    await use(page, log);
  } finally {
    await context.close();
  }
}

describe('a pack built by `hyperbooth pack` in chromium', () => {
  test('the fixture SD1.5-structured pack loads through the pack URL field, generates, personalizes one step', async () => {
    await inFreshApp(async (page, log) => {
      const fixture = JSON.parse(readFileSync(join(root, 'sd-fixture', 'manifest.json'), 'utf8')) as PackManifest;
      const fixtureBytes = fixture.files.reduce((a, f) => a + f.size, 0);
      await page.getByTestId('pack-url').fill(`${packs.url}sd-fixture/manifest.json`);
      expect(await sizeText(page, urlSize(page), /^Download/)).toBe(`Download ${mb(fixtureBytes)} MB`);
      await page.getByTestId('pack-load').click();
      await expect.poll(async () => (await page.getByTestId('status').textContent()) ?? '', { timeout: READY_TIMEOUT }).toMatch(/^Ready|^Could not/);
      await waitReady(page, log);
      expect(await page.getByTestId('error').count()).toBe(0);

      // generate: one 64 px image in two steps
      await page.getByTestId('prompt').fill('a photo of a face');
      await page.getByTestId('steps').fill('2');
      await page.getByTestId('seed').fill('7');
      await page.getByTestId('count').fill('1');
      await page.getByTestId('generate').click();
      await waitFor(page, log, 'gallery-image', 240_000);
      const size = await page.getByTestId('gallery-image').first().evaluate(async (img: HTMLImageElement) => {
        await img.decode();
        return [img.naturalWidth, img.naturalHeight];
      });
      expect(size).toEqual([fixture.image.width, fixture.image.height]);

      // personalize: selfie → crop → one fine-tune step on the pack's train graph
      await page.getByTestId('selfie-input').setInputFiles(PORTRAIT);
      await waitFor(page, log, 'crop-confirm', 60_000);
      await page.getByTestId('crop-confirm').click();
      await page.getByTestId('ft-steps').fill('1');
      await page.getByTestId('personalize').click();
      await waitFor(page, log, 'personalized', 300_000);
      expect(await page.getByTestId('loss-chart').getAttribute('data-points')).toBe('1');
      // the result shows before it is saved; the status says Ready once it is
      expect(await waitReady(page, log)).toMatch(/^Ready · personalized: /);
      expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    });
  });

  test('a pack too large for both backends is refused with the reasons before any file is downloaded', async () => {
    // the tiny pack's manifest claiming SD1.5-sized float32 UNet weights (3 GiB, read by the
    // forward and the train session: over a wasm32 heap) and a tensor beyond any GPU buffer limit
    const big = {
      ...tiny,
      id: 'too-big',
      files: tiny.files.map((f) => (f.path === WEIGHTS ? { ...f, size: 3 * 2 ** 30 } : f)),
      requirements: { imageSize: 64, largestTensorBytes: 16 * 2 ** 30, largestTensor: 'a 16 GiB tensor', peakBytes: { generate: 2 ** 30, fineTuneStep: 2 ** 30 }, weightsBytes: { generate: 2 ** 30, fineTuneStep: 2 ** 30 } },
    };
    await mkdir(join(root, 'too-big'), { recursive: true });
    writeFileSync(join(root, 'too-big', 'manifest.json'), JSON.stringify(big));
    await inFreshApp(async (page) => {
      packs.requests.length = 0;
      await page.getByTestId('pack-url').fill(`${packs.url}too-big/manifest.json`);
      await page.getByTestId('pack-load').click();
      const error = page.getByTestId('error');
      await expect.poll(async () => (await error.count()) ? (await error.first().textContent()) ?? '' : '', { timeout: READY_TIMEOUT })
        .toMatch(/cannot run here, so nothing was downloaded: .*exceeds this GPU's max\w+ of \d+ MiB; and on WASM every session's weights sit in one wasm32 heap of at most 4 GiB/);
      console.log(`[e2e] refused: ${await error.first().textContent()}`);
      // only the manifest was read (by the picker for its size line and by the worker's check)
      expect(new Set(packs.requests.map((r) => r.path))).toEqual(new Set(['too-big/manifest.json']));
    });
  });

  test('a float16 pack too large for WASM is refused on SwiftShader (no shader-f16) before any file is downloaded', async () => {
    // what `hyperbooth pack --fp16` makes of SD1.5: float16 compute, and UNet weights that the
    // forward and train sessions would each copy into the wasm32 heap (2 × 1.6 GiB plus the rest)
    const f16 = {
      ...tiny,
      id: 'f16-big',
      files: tiny.files.map((f) => (f.path === WEIGHTS ? { ...f, size: Math.round(1.6 * 2 ** 30) } : f)),
      precision: { weights: 'float16', compute: { unet: 'float16', textEncoder: 'float16', vaeEncoder: 'float16', vaeDecoder: 'float16', train: 'float16' } },
    };
    await mkdir(join(root, 'f16-big'), { recursive: true });
    writeFileSync(join(root, 'f16-big', 'manifest.json'), JSON.stringify(f16));
    await inFreshApp(async (page) => {
      packs.requests.length = 0;
      await page.getByTestId('pack-url').fill(`${packs.url}f16-big/manifest.json`);
      await page.getByTestId('pack-load').click();
      const error = page.getByTestId('error');
      await expect.poll(async () => (await error.count()) ? (await error.first().textContent()) ?? '' : '', { timeout: READY_TIMEOUT })
        .toMatch(/cannot run here, so nothing was downloaded: its graphs compute in float16, and this WebGPU adapter lacks shader-f16; and on WASM every session's weights sit in one wasm32 heap of at most 4 GiB/);
      console.log(`[e2e] refused: ${await error.first().textContent()}`);
      expect(new Set(packs.requests.map((r) => r.path))).toEqual(new Set(['f16-big/manifest.json']));
    });
  });
});

describe('a pack with a hypernetwork and no fine-tune graphs in chromium', () => {
  test('Personalize gives the hypernetwork\'s prediction (0 fine-tune steps) and the card says fine-tune is unavailable', async () => {
    // the tiny pack without its "train" entry and train-graph files: the manifest format allows it
    const dir = join(root, 'tiny-hypernet-only');
    await cp(tinyDir, dir, { recursive: true });
    const { train, ...rest } = tiny;
    // the train graphs share their weights files with the forward graphs: only the graphs go
    const trainFiles = new Set([train!.unet.file, train!.textEncoder?.file]);
    const manifest = { ...rest, id: 'tiny-hypernet-only', name: 'Tiny without fine-tune graphs', files: rest.files.filter((f) => !trainFiles.has(f.path)) };
    expect(manifest.files.length).toBeLessThan(tiny.files.length);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await inFreshApp(async (page, log) => {
      await page.getByTestId('pack-url').fill(`${packs.url}tiny-hypernet-only/manifest.json`);
      await page.getByTestId('pack-load').click();
      // the notice shows once the new pack is ready (the old one had fine-tune graphs)
      await waitFor(page, log, 'no-fine-tune', READY_TIMEOUT);
      await waitReady(page, log);

      expect(await page.getByTestId('no-fine-tune').textContent()).toMatch(/^Fine-tune is unavailable/);
      expect(await page.getByTestId('ft-steps').isDisabled()).toBe(true);
      await page.getByTestId('selfie-input').setInputFiles(PORTRAIT);
      await waitFor(page, log, 'crop-confirm', 60_000);
      await page.getByTestId('crop-confirm').click();
      await page.getByTestId('personalize').click();
      await waitFor(page, log, 'personalized', 300_000);
      expect(await waitReady(page, log)).toMatch(/^Ready · personalized: /);
      expect(await page.getByTestId('error').count()).toBe(0);
      expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    });
  });
});
