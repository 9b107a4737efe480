// Which backend the app picks: the adapter classification, the decision rule, and the start-up
// probe on real onnxruntime-node sessions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseWebBackend, decideBackend, probeBackends } from '../../../src/runtime/backendChoice';
import { buildProbeModel, probeShapeOf, timeProbe } from '../../../src/runtime/backendProbe';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { classifyAdapter, type WebgpuAdapterReport } from '../../../src/runtime/webgpuAdapter';
import type { PackManifest } from '../../../src/packs/manifest';

const tiny = JSON.parse(readFileSync(join(__dirname, '../../../public/models/tiny/manifest.json'), 'utf8')) as PackManifest;

describe('classifyAdapter', () => {
  it("calls Chromium's SwiftShader, Mesa's llvmpipe and fallback adapters software", () => {
    expect(classifyAdapter({ info: { vendor: 'google', architecture: 'swiftshader', device: '', description: '' } })).toEqual({ kind: 'software', name: 'google swiftshader' });
    expect(classifyAdapter({ info: { vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } }).kind).toBe('software');
    expect(classifyAdapter({ info: { vendor: 'microsoft', description: 'Microsoft Basic Render Driver' } }).kind).toBe('software');
    expect(classifyAdapter({ isFallbackAdapter: true, info: { vendor: 'acme' } })).toEqual({ kind: 'software', name: 'acme (a fallback adapter)' });
    expect(classifyAdapter({ info: { vendor: 'acme', isFallbackAdapter: true } }).kind).toBe('software');
  });

  it('calls a real GPU hardware, named by its description or vendor and architecture', () => {
    expect(classifyAdapter({ isFallbackAdapter: false, info: { vendor: 'nvidia', architecture: 'hopper', description: '' } })).toEqual({ kind: 'hardware', name: 'nvidia hopper' });
    expect(classifyAdapter({ info: { vendor: 'apple', description: 'Apple M2' } })).toEqual({ kind: 'hardware', name: 'Apple M2' });
    expect(classifyAdapter({})).toEqual({ kind: 'hardware', name: 'unnamed adapter' });
  });
});

describe('decideBackend', () => {
  const software: WebgpuAdapterReport = { kind: 'software', name: 'google swiftshader' };
  const gpu: WebgpuAdapterReport = { kind: 'hardware', name: 'nvidia hopper' };

  it('a software adapter means WASM, with why and how to force WebGPU', () => {
    const c = decideBackend(software);
    expect(c.backend).toBe('wasm');
    expect(c.notice).toBe('WebGPU here is a software renderer (google swiftshader), many times slower than WASM: running on WASM. Add ?backend=webgpu to the address to use WebGPU anyway.');
  });

  it('the address wins, and forcing WebGPU onto a software adapter says what to expect', () => {
    expect(decideBackend(software, 'webgpu')).toEqual({ backend: 'webgpu', notice: expect.stringMatching(/^WebGPU forced in the address, on a software renderer \(google swiftshader\)/) });
    expect(decideBackend(gpu, 'webgpu')).toEqual({ backend: 'webgpu' });
    expect(decideBackend(gpu, 'wasm', { webgpu: 1, wasm: 100 })).toEqual({ backend: 'wasm' });
  });

  it('no adapter means WASM with the reason', () => {
    expect(decideBackend({ kind: 'none', reason: 'no WebGPU adapter is available' })).toEqual({
      backend: 'wasm',
      notice: 'WebGPU is not available: no WebGPU adapter is available. Running on WASM (slower).',
    });
  });

  it('on a real GPU the probe keeps the faster backend', () => {
    expect(decideBackend(gpu, undefined, { webgpu: 2, wasm: 40 })).toEqual({ backend: 'webgpu', probeMs: { webgpu: 2, wasm: 40 } });
    const slowGpu = decideBackend(gpu, undefined, { webgpu: 30, wasm: 4.25 });
    expect(slowGpu.backend).toBe('wasm');
    expect(slowGpu.notice).toBe('WASM ran a layer of this pack in 4.3 ms, WebGPU (nvidia hopper) in 30 ms: running on WASM. Add ?backend=webgpu to the address to use WebGPU anyway.');
    expect(decideBackend(gpu, undefined, new Error('device lost')).notice).toMatch(/^WebGPU \(nvidia hopper\) could not run a test layer \(device lost\): running on WASM/);
    expect(decideBackend(gpu)).toEqual({ backend: 'webgpu' });
  });
});

describe('the start-up probe (onnxruntime-node)', () => {
  it('is sized by the pack: the latent and the UNet first layer width', () => {
    const first = tiny.lora.layers.find((l) => l.target === 'unet')!;
    expect(probeShapeOf(tiny)).toEqual({ channels: first.nIn, height: tiny.latent.height, width: tiny.latent.width });
    expect(probeShapeOf({ latent: { channels: 4, width: 64, height: 64, scale: 0.18215 }, lora: { inputPrefix: 'lora.', layers: [] } })).toEqual({ channels: 320, height: 64, width: 64 });
  });

  it('computes conv 3×3 then a token matmul, as a reference in plain JS does', async () => {
    const shape = { channels: 3, height: 4, width: 5 };
    const session = await createNodeRuntime().createSession({ name: 'probe', model: buildProbeModel(shape) });
    const { channels: c, height: h, width: w } = shape;
    const x = Float32Array.from({ length: c * h * w }, (_, i) => Math.cos(i));
    const y = (await session.run({ x: { type: 'float32', dims: [1, c, h, w], data: x } })).y;
    expect(y.dims).toEqual([1, h * w, c]);
    // the builder's deterministic weights: sin(i·12.9898)·scale
    const wv = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 12.9898) * s));
    const [k, b, p] = [wv(c * c * 9, 0.05), wv(c, 0.01), wv(c * c, 0.05)];
    const conv = new Float64Array(c * h * w);
    for (let o = 0; o < c; o++) for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
      let s = b[o];
      for (let i = 0; i < c; i++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const [sy, sx] = [yy + dy, xx + dx];
        if (sy >= 0 && sy < h && sx >= 0 && sx < w) s += k[((o * c + i) * 3 + dy + 1) * 3 + dx + 1] * x[(i * h + sy) * w + sx];
      }
      conv[(o * h + yy) * w + xx] = s;
    }
    let worst = 0;
    for (let t = 0; t < h * w; t++) for (let j = 0; j < c; j++) {
      let s = 0;
      for (let i = 0; i < c; i++) s += conv[i * h * w + t] * p[i * c + j];
      worst = Math.max(worst, Math.abs(s - (y.data as Float32Array)[t * c + j]));
    }
    expect(worst).toBeLessThan(1e-5);
    await session.release();
  });

  it('times the median of real runs, and calls a WebGPU runtime that ended up elsewhere a failure', async () => {
    const shape = probeShapeOf(tiny);
    const ms = await timeProbe(createNodeRuntime(), buildProbeModel(shape), shape, { runs: 3 });
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(60_000);
    // onnxruntime-node has no WebGPU here: the runtime "opened for webgpu" reports cpu
    const out = await probeBackends(async () => createNodeRuntime(), shape);
    expect(out).toBeInstanceOf(Error);
    expect((out as Error).message).toBe('its session ran on cpu instead');
  });

  it('chooseWebBackend probes only a hardware adapter, and not when the address forces a backend', async () => {
    const opened: string[] = [];
    const open = async (b: 'webgpu' | 'wasm') => {
      opened.push(b);
      return createNodeRuntime();
    };
    const software = await chooseWebBackend({ manifest: tiny, open, inspect: async () => ({ kind: 'software', name: 'google swiftshader' }) });
    expect(software.backend).toBe('wasm');
    expect(opened).toEqual([]);
    await chooseWebBackend({ forced: 'webgpu', manifest: tiny, open, inspect: async () => ({ kind: 'hardware', name: 'gpu' }) });
    expect(opened).toEqual([]);
    const hardware = await chooseWebBackend({ manifest: tiny, open, inspect: async () => ({ kind: 'hardware', name: 'gpu' }) });
    expect(opened).toEqual(['wasm', 'webgpu']);
    // the "webgpu" runtime here is onnxruntime-node's CPU: the probe says so and WASM is kept
    expect(hardware.backend).toBe('wasm');
    expect(hardware.notice).toMatch(/could not run a test layer \(its session ran on cpu instead\)/);
  });
});
