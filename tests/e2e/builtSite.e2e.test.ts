// The built site (issue 13, item 11): `vite build` into a temporary folder, served as a static
// host serves it. First by a plain file server that sends no COOP/COEP and no CSP header (as
// GitHub Pages does): the service worker makes the page cross-origin isolated, the
// Content-Security-Policy is in force (an injected inline script and a fetch to another origin
// are each blocked; eval cannot be tried from here, DevTools' own evaluation is exempt), and in
// the whole flow (load pack → upload a selfie → personalize 2 steps → generate 1 image) no
// request leaves the origin and nothing breaks the policy, the model worker and onnxruntime-web's
// wasm included. Then by `vite preview`, which sends the
// headers itself: isolated from the first load, and no service worker is registered.
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { deflateSync } from 'node:zlib';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { launchPersistentBrowser, projectRoot, type PersistentBrowser } from './harness';
import { screenshot, setSampling, waitForReady, waitForTestId, watchPage } from './pageHelpers';
import { encodePng, identitySeed, photoSeed, renderStyled, sampleIdentity } from '../../src/dataset';
import { buildCsp } from '../../src/security/csp';
import { listenLocal } from '../unit/packs/fixturePack';

const identity = sampleIdentity(identitySeed('heldout', 3, 0));
const SELFIE = { name: 'synthetic-selfie.png', mimeType: 'image/png', buffer: Buffer.from(encodePng(renderStyled(identity, 'photo', photoSeed(identity.seed, 0), 256), { rgb: true, deflate: (b) => deflateSync(b) })) };
const READY_TIMEOUT = 240_000;
const RUN_TIMEOUT = 420_000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Files as they are, with a content type and nothing else (what GitHub Pages sends), unless told. */
async function serveStatic(dir: string, headers: Record<string, string> = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    let path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    if (path === '' || path.endsWith('/')) path += 'index.html';
    const file = join(dir, path);
    try {
      if (!file.startsWith(dir) || !(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.byteLength });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return listenLocal(server);
}

/** Records every CSP violation from the page's first script on (init scripts are not under the policy). */
function recordViolations(): void {
  const list: { directive: string; blocked: string }[] = [];
  (window as unknown as { __violations: typeof list }).__violations = list;
  document.addEventListener('securitypolicyviolation', (e) => list.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
}

/**
 * Asks the model worker itself to load a pack from a server on another origin that would answer
 * (CORS allowed): its own Content-Security-Policy must stop the fetch before it leaves.
 */
async function workerFetchElsewhere(page: Page): Promise<{ hits: number; outcome: string }> {
  let hits = 0;
  const other = await listenLocal(
    createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin', 'Content-Type': 'application/json' });
      res.end('{}');
    }),
  );
  try {
    const outcome = await page.evaluate(async (url) => {
      try {
        await window.__hyperbooth!.api.loadPack(url, {}, undefined as never);
        return 'loaded';
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    }, `${other.url}tiny/manifest.json`);
    return { hits, outcome };
  } finally {
    await other.close();
  }
}

const violations = (page: Page) => page.evaluate(() => (window as unknown as { __violations: { directive: string; blocked: string }[] }).__violations);

let outDir: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'hyperbooth-dist-'));
  // `npm run build` itself, in a process of its own: vitest's NODE_ENV=test would make a build
  // made through Vite's API here a non-production one
  await promisify(execFile)('npm', ['run', 'build', '--', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: projectRoot,
    env: { ...process.env, NODE_ENV: 'production' },
  });
});
afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('the built site on a static host that sends no headers', () => {
  let host: { url: string; close(): Promise<void> };
  let browser: PersistentBrowser;
  let page: Page;
  let log: string[];
  const requests: string[] = [];

  beforeAll(async () => {
    host = await serveStatic(outDir);
    browser = await launchPersistentBrowser();
    // every request of the context: the page, its workers and the service worker
    browser.context.on('request', (r) => requests.push(r.url()));
    page = await browser.context.newPage();
    log = watchPage(page);
    await page.addInitScript(recordViolations);
  });
  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  test('runs the whole flow cross-origin isolated, under the CSP, without a request leaving the origin', async () => {
    const origin = new URL(host.url).origin;
    await page.goto(host.url);
    // the service worker's one reload; then the load event, since the policy's meta tag is written by
    // a module script, which runs only after the parser is done and isolation is already visible
    await page.waitForFunction(() => crossOriginIsolated && document.readyState === 'complete', undefined, { timeout: 60_000, polling: 250 });
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${origin}/coi-sw.js`);
    expect(await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'))).toBe(buildCsp());
    // multithreaded WASM is what isolation is for
    expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
    await waitForReady(page, log, READY_TIMEOUT);

    await page.getByTestId('selfie-input').setInputFiles(SELFIE);
    await waitForTestId(page, log, 'crop-confirm', RUN_TIMEOUT);
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill('2');
    await page.getByTestId('personalize').click();
    await waitForTestId(page, log, 'personalized', RUN_TIMEOUT);
    expect(await page.getByTestId('loss-chart').getAttribute('data-points')).toBe('2');

    await page.getByTestId('style-option').nth(0).click();
    await page.getByTestId('prompt').fill('');
    await setSampling(page, { steps: '2', guidance: '7.5', scheduler: 'ddim', seed: '1', count: '1' });
    await page.getByTestId('generate').click();
    await waitForTestId(page, log, 'gallery-image', RUN_TIMEOUT, 1);
    await screenshot(page, 'built-site-flow');

    // the pack, the ORT wasm and the workers all came from here; nothing broke the policy
    const elsewhere = requests.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:') && new URL(u).origin !== origin);
    expect(elsewhere).toEqual([]);
    expect(requests.some((u) => u.includes('/ort/') && u.endsWith('.wasm'))).toBe(true);
    expect(requests.some((u) => u.includes('/models/tiny/unet/weights.bin'))).toBe(true);
    expect(await violations(page)).toEqual([]);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    console.log(`[e2e] built site: ${requests.length} requests, all to ${origin}`);
  });

  test('the CSP blocks an injected inline script and a fetch to another origin', async () => {
    const outcome = await page.evaluate(async () => {
      const w = window as unknown as { __inlineRan?: boolean };
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.body.append(script);
      const fetched = await fetch('http://127.0.0.2:9/steal').then(() => 'sent', (e: Error) => e.name);
      await new Promise((r) => setTimeout(r, 100));
      return { inlineRan: w.__inlineRan === true, fetched };
    });
    expect(outcome).toEqual({ inlineRan: false, fetched: 'TypeError' });
    const seen = await violations(page);
    expect(seen).toContainEqual({ directive: 'script-src-elem', blocked: 'inline' });
    expect(seen).toContainEqual({ directive: 'connect-src', blocked: 'http://127.0.0.2:9/steal' });
    expect(requests.filter((u) => u.includes('127.0.0.2'))).toEqual([]);
  });

  test("the worker's cancelGenerate() stops a running generate with a typed error", async () => {
    const outcome = await page.evaluate(async () => {
      const api = window.__hyperbooth!.api;
      const run = api.generate({ prompts: ['a sks face'], seed: 3, steps: 500, guidance: 7.5, scheduler: 'ddim' }, undefined as never);
      const settled = run.then(() => 'finished', (e: Error) => `${e.name}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 1500));
      await api.cancelGenerate();
      return settled;
    });
    expect(outcome).toMatch(/^GenerateCancelledError: Generating was cancelled after step \d+ of 500\.$/);
  });

  test("the model worker runs under its own CSP (from the service worker): a fetch it makes to another origin never leaves", async () => {
    const { hits, outcome } = await workerFetchElsewhere(page);
    expect(hits).toBe(0);
    expect(outcome).not.toBe('loaded');
    console.log(`[e2e] built site, static host: the worker's fetch elsewhere ended with ${outcome}`);
  });

  test('a pack URL on another server is allowed by reloading with it in connect-src, and loads', async () => {
    const packHost = await serveStatic(join(projectRoot, 'public', 'models'), {
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
    try {
      const packOrigin = new URL(packHost.url).origin;
      const before = (await violations(page)).length; // the previous test's two
      await page.getByTestId('pack-url').fill(`${packHost.url}tiny/manifest.json`);
      // the page's policy does not allow that server yet: the picker says so instead of fetching
      await page.waitForFunction(() => /is a new pack server/.test(document.querySelector('[data-testid="pack-url-option"] [data-testid="pack-size"]')?.textContent ?? ''), undefined, { timeout: 10_000 });
      expect(await violations(page)).toHaveLength(before);
      await Promise.all([page.waitForEvent('framenavigated'), page.getByTestId('pack-load').click()]);
      await waitForReady(page, log, READY_TIMEOUT);
      expect(await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'))).toBe(buildCsp([packOrigin]));
      expect(requests.some((u) => u.startsWith(`${packOrigin}/tiny/unet/weights.bin`))).toBe(true);
      expect(await violations(page)).toEqual([]);
      const origin = new URL(host.url).origin;
      expect(requests.filter((u) => !/^(blob|data):/.test(u) && ![origin, packOrigin].includes(new URL(u).origin))).toEqual([]);
    } finally {
      await packHost.close();
    }
  });
});

describe('the built site on `vite preview`, which sends COOP/COEP itself', () => {
  let server: PreviewServer;
  let browser: PersistentBrowser;

  beforeAll(async () => {
    server = await preview({
      root: projectRoot,
      configFile: join(projectRoot, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir },
      preview: { host: '127.0.0.1', port: 0, open: false },
    });
    browser = await launchPersistentBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => server?.httpServer.close(() => ok()));
  });

  test('is isolated from the first load, registers no service worker, and reaches Ready under the CSP', async () => {
    const page = await browser.context.newPage();
    const log = watchPage(page);
    await page.addInitScript(recordViolations);
    const url = server.resolvedUrls?.local[0];
    expect(url).toBeTruthy();
    await page.goto(url!);
    await waitForReady(page, log, READY_TIMEOUT);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);
    expect(await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'))).toBe(buildCsp());
    expect(await violations(page)).toEqual([]);
    // the model worker's script came with its own policy, which stops its fetches elsewhere
    const { hits, outcome } = await workerFetchElsewhere(page);
    expect(hits).toBe(0);
    expect(outcome).not.toBe('loaded');
  });
});
