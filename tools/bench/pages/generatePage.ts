// Runs inside chromium for `npm run bench -- generate`: owns one model worker (the app's own
// workers/hyperbooth.worker.ts) and exposes plain async functions that page.evaluate can call,
// since comlink callbacks cannot be created from the Node side.
import * as Comlink from 'comlink';
import type { Backend, GenerateRequest, HyperBoothWorkerApi, LoadPackResult } from '../../../workers/api';

export interface BenchGenerateResult {
  /** worker-side ms since the call started, at the end of each denoising step */
  stepEndsMs: number[];
  totalMs: number;
  width: number;
  height: number;
  /** sum of all RGBA bytes: a cheap fingerprint to compare runs */
  checksum: number;
  backend?: Backend;
}

export interface BenchHooks {
  load(manifestUrl: string, backend: Backend): Promise<Omit<LoadPackResult, 'manifest'> & { loadMs: number }>;
  generate(req: GenerateRequest): Promise<BenchGenerateResult>;
}

declare global {
  interface Window {
    __hyperboothBench?: BenchHooks;
  }
}

const worker = new Worker(new URL('../../../workers/hyperbooth.worker.ts', import.meta.url), { type: 'module', name: 'hyperbooth-bench' });
const api = Comlink.wrap<HyperBoothWorkerApi>(worker);

window.__hyperboothBench = {
  async load(manifestUrl, backend) {
    const t0 = performance.now();
    const { manifest: _manifest, ...rest } = await api.loadPack(manifestUrl, { backend }, Comlink.proxy(() => undefined));
    return { ...rest, loadMs: performance.now() - t0 };
  },
  async generate(req) {
    const stepEndsMs: number[] = [];
    const t0 = performance.now();
    const { images, backend } = await api.generate(req, Comlink.proxy((p) => { stepEndsMs.push(p.elapsedMs ?? performance.now() - t0); }));
    const totalMs = performance.now() - t0;
    const first = images[0];
    let checksum = 0;
    for (const img of images) for (const v of img.rgba) checksum += v;
    return { stepEndsMs, totalMs, width: first.width, height: first.height, checksum, backend };
  },
};
document.title = 'bench-ready';
