import { readFileSync, readdirSync, statSync, createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { workerCsp } from './src/security/csp.ts';

// Multithreaded WASM (SharedArrayBuffer) only exists in a cross-origin isolated page.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Where onnxruntime-web's .wasm/.mjs files are served; src/runtime/webRuntime.ts points ort.env.wasm.wasmPaths here. */
export const ORT_PUBLIC_DIR = 'ort';
const ortDist = fileURLToPath(new URL('./node_modules/onnxruntime-web/dist/', import.meta.url));

/**
 * The files the WebGPU build of onnxruntime-web loads at run time, read from its own bundle so
 * an upgrade that renames them cannot silently break the production build.
 */
function ortRuntimeFiles(): string[] {
  const bundle = readFileSync(join(ortDist, 'ort.webgpu.bundle.min.mjs'), 'utf8');
  const names = new Set(bundle.match(/ort-wasm-simd-threaded[\w.]*\.(?:mjs|wasm)/g) ?? []);
  if (names.size === 0) throw new Error('onnxruntime-web: found no ort-wasm-* file names in ort.webgpu.bundle.min.mjs');
  return [...names];
}

const contentTypes: Record<string, string> = { '.wasm': 'application/wasm', '.mjs': 'text/javascript' };

/**
 * onnxruntime-web fetches its wasm binary and imports its emscripten loader by URL, and its
 * thread pool re-imports that loader in every pthread worker. Serving the untouched files at one
 * fixed path (instead of letting the bundler rewrite them) makes dev, preview and build agree.
 */
function serveOnnxRuntimeWasm(): Plugin {
  const files = new Set(readdirSync(ortDist).filter((f) => /^ort-wasm-simd-threaded[\w.]*\.(mjs|wasm)$/.test(f)));
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const prefix = `/${ORT_PUBLIC_DIR}/`;
    const path = (req.url ?? '').split('?')[0];
    const at = path.indexOf(prefix);
    const name = at >= 0 ? path.slice(at + prefix.length) : '';
    if (!files.has(name)) return next();
    const file = join(ortDist, name);
    res.setHeader('Content-Type', contentTypes[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'hyperbooth:onnxruntime-wasm',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
    generateBundle() {
      for (const name of ortRuntimeFiles()) {
        this.emitFile({ type: 'asset', fileName: `${ORT_PUBLIC_DIR}/${name}`, source: readFileSync(join(ortDist, name)) });
      }
    },
  };
}

/**
 * `_headers` in the build: Netlify and Cloudflare Pages read it and send the isolation headers
 * with every file. Hosts that cannot set headers get them from public/coi-sw.js instead.
 */
function staticHostHeaders(): Plugin {
  return {
    name: 'hyperbooth:static-host-headers',
    apply: 'build',
    generateBundle() {
      const lines = Object.entries({ ...isolationHeaders, 'Cross-Origin-Resource-Policy': 'same-origin' }).map(([k, v]) => `  ${k}: ${v}`);
      this.emitFile({ type: 'asset', fileName: '_headers', source: ['/*', ...lines, ''].join('\n') });
    },
  };
}

/**
 * `vite preview` serves the built site as a host that sets headers would: every worker script
 * (the model worker, onnxruntime-web's thread pool) gets its own Content-Security-Policy, which
 * the page's meta tag cannot give it (see workerCsp in src/security/csp.ts).
 */
function workerPolicyInPreview(): Plugin {
  return {
    name: 'hyperbooth:worker-csp',
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.headers['sec-fetch-dest'] === 'worker') res.setHeader('Content-Security-Policy', workerCsp(req.url ?? '/'));
        next();
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), serveOnnxRuntimeWasm(), staticHostHeaders(), workerPolicyInPreview()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  // onnxruntime-web's "extern wasm" builds load the loader and binary only from wasmPaths (/ort/),
  // instead of also embedding them, which would put a second 27 MB copy of the wasm in the build.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  worker: { format: 'es' },
  optimizeDeps: {
    // Vite's start-up scan follows index.html's imports but not `new Worker(new URL(...))`, so
    // the worker's dependencies (onnx-proto, @huggingface/tokenizers, ...) were found only when
    // the worker ran, and the optimizer then reloaded the page mid-download. Scanning the
    // worker too pre-bundles them before the first page is served.
    entries: ['index.html', 'workers/*.worker.ts'],
    // onnxruntime-web locates its wasm files relative to its own module; pre-bundling would move it.
    exclude: ['onnxruntime-web'],
  },
});
