// Shared e2e harness: the app's own Vite dev server (same vite.config.ts, so the same COOP/COEP
// headers and onnxruntime-web asset handling as `npm run dev`) and Debian's chromium driven by
// playwright-core. No browser is ever downloaded.
import { createServer as createNetServer } from 'node:net';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin } from 'vite';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type LaunchOptions } from 'playwright-core';

export const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export const CHROMIUM_PATH = process.env.HYPERBOOTH_CHROMIUM ?? '/usr/bin/chromium';

// SwiftShader gives a (slow, CPU) WebGPU adapter with --enable-unsafe-webgpu alone. Never add
// `--enable-features=Vulkan --use-angle=vulkan` together: chromium hangs on this machine.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createNetServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? ok(port) : fail(new Error('no free port'))));
    });
  });
}

export interface ServerOptions {
  /** Vite's dependency cache (default node_modules/.vite); a fresh folder is a first visit */
  cacheDir?: string;
  /** 'info' shows the optimizer's messages ("new dependencies optimized", "reloading") */
  logLevel?: 'info' | 'warn';
  /** true keeps Vite's client websocket, through which the optimizer reloads the page (as `npm run dev` does) */
  hmr?: boolean;
  /** extra folders served as-is under URL prefixes (benchmarks: a pack kept outside public/) */
  serve?: Record<string, string>;
}

/** Serves `dir` under `prefix` (GET and HEAD, whole files), with the headers the app's files get. */
function serveFolder(prefix: string, dir: string): Plugin {
  return {
    name: `hyperbooth:serve ${prefix}`,
    configureServer(server) {
      server.middlewares.use(prefix, (req, res, next) => {
        const rel = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
        const file = resolve(dir, rel);
        if (!file.startsWith(resolve(dir) + '/') || !existsSync(file) || !statSync(file).isFile()) return next();
        res.setHeader('Content-Length', String(statSync(file).size));
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).pipe(res);
      });
    },
  };
}

/** Starts the project's Vite dev server on 127.0.0.1 and a free port. */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const server = await createServer({
    root: projectRoot,
    configFile: join(projectRoot, 'vite.config.ts'),
    clearScreen: false,
    logLevel: options.logLevel ?? 'warn',
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    server: { host: '127.0.0.1', port, strictPort: true, hmr: options.hmr ?? false, open: false },
    plugins: Object.entries(options.serve ?? {}).map(([prefix, dir]) => serveFolder(prefix, dir)),
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
  return { url, close: () => server.close() };
}

export interface BrowserOptions {
  /** false launches without --enable-unsafe-webgpu: Linux chromium then has no WebGPU adapter */
  webgpu?: boolean;
}

function launchOptions({ webgpu = true }: BrowserOptions = {}): LaunchOptions {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium)`);
  }
  const args = webgpu ? CHROMIUM_ARGS : CHROMIUM_ARGS.filter((a) => a !== '--enable-unsafe-webgpu');
  return { executablePath: CHROMIUM_PATH, headless: true, args };
}

/** Headless Debian chromium, with WebGPU enabled unless told otherwise. */
export function launchBrowser(options?: BrowserOptions): Promise<Browser> {
  return chromium.launch(launchOptions(options));
}

export interface PersistentBrowser {
  context: BrowserContext;
  /** closes the browser and deletes its profile */
  close(): Promise<void>;
}

/**
 * A browser with its own fresh on-disk profile, for tests that need storage (Cache Storage,
 * OPFS) to behave as in a real profile across reloads.
 */
export async function launchPersistentBrowser(): Promise<PersistentBrowser> {
  const dir = await mkdtemp(join(tmpdir(), 'hyperbooth-chromium-'));
  const context = await chromium.launchPersistentContext(dir, launchOptions());
  return {
    context,
    close: async () => {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The app server and a chromium, started before a test file's tests and closed after them. */
export function appInChromium(): { readonly server: TestServer; readonly browser: Browser } {
  const env = {} as { server: TestServer; browser: Browser };
  beforeAll(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}
