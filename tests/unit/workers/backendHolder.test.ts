// The worker's backend holder on the committed tiny pack with real onnxruntime-node sessions.
// Two runtimes stand in for the browser's: "webgpu" and "wasm", both onnxruntime-node on the
// CPU, wrapped to count the sessions they create and release and to inject a backend fault
// (a graph WebGPU refuses to open, a run that fails as on a lost device). The pipeline and the
// personalizer above them are the real ones.
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { BackendHolder, type BackendRuntime, type RuntimeFactory } from '../../../workers/backendHolder';
import type { Backend } from '../../../workers/api';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { LoadedPack } from '../../../src/packs/types';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import type { GenerateOptions } from '../../../src/pipeline/pipeline';

const TINY = fileURLToPath(new URL('../../../public/models/tiny', import.meta.url));

interface Faults {
  /** WebGPU cannot open this graph: the runtime moves to WASM, as onnxruntime-web's does */
  refuseOnWebgpu?: string;
  /** opening this graph fails on any backend */
  failOpen?: string;
  /** running this graph on this backend fails */
  failRun?: { graph: string; backend: Backend };
}

interface LiveSession {
  graph: string;
  backend: Backend;
}

/** Real onnxruntime-node sessions behind runtimes labelled as the browser's backends, counted. */
function countingRuntimes(faults: Faults = {}) {
  const node = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: 1 });
  const live = new Set<LiveSession>();
  const created: LiveSession[] = [];
  const factory: RuntimeFactory = async (prefer) => {
    let backend: Backend = prefer;
    let fellBack = false;
    let notice: string | undefined;
    const runtime: BackendRuntime = {
      get backend() {
        return backend;
      },
      get fellBack() {
        return fellBack;
      },
      get notice() {
        return notice;
      },
      async createSession(source) {
        // the pipeline names a source "UNet (unet/model.onnx)"
        const graph = source.name.replace(/ \(.*\)$/, '');
        if (backend === 'webgpu' && faults.refuseOnWebgpu === graph) {
          backend = 'wasm';
          fellBack = true;
          notice = `WebGPU could not load ${graph} (injected). Running on WASM (slower).`;
        }
        if (faults.failOpen === graph) throw new Error(`${graph}: the model could not be loaded (injected)`);
        const session = await node.createSession(source);
        const entry: LiveSession = { graph, backend };
        live.add(entry);
        created.push(entry);
        return {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          async run(feeds, outputs) {
            if (faults.failRun?.graph === graph && faults.failRun.backend === entry.backend) throw new Error(`${graph}: device lost (injected)`);
            return session.run(feeds, outputs);
          },
          async release() {
            live.delete(entry);
            await session.release();
          },
        };
      },
    };
    return runtime;
  };
  return {
    factory,
    /** sessions open now, on `backend` or on both */
    open: (backend?: Backend) => [...live].filter((s) => !backend || s.backend === backend).length,
    /** how many sessions of `graph` were ever created */
    createdOf: (graph: string) => created.filter((s) => s.graph === graph).length,
  };
}

const request = (patch: Partial<GenerateOptions> = {}): GenerateOptions => ({ prompts: ['a sks face'], seed: 3, steps: 2, guidance: 3, scheduler: 'ddim', ...patch });

let pack: LoadedPack;
const holders: BackendHolder[] = [];
beforeAll(async () => {
  pack = await loadPackFromDisk(TINY);
});
afterEach(async () => {
  await Promise.all(holders.splice(0).map((h) => h.unload()));
});

async function loaded(prefer: Backend, faults?: Faults, bothSetsBudgetBytes?: number) {
  const runtimes = countingRuntimes(faults);
  const holder = new BackendHolder(runtimes.factory, { bothSetsBudgetBytes });
  holders.push(holder);
  await holder.load(pack, prefer);
  return { holder, ...runtimes };
}

describe('run with fallback: only runtime failures move to WASM', () => {
  test('requests the pipeline refuses keep WebGPU and its sessions', async () => {
    const { holder, open, createdOf } = await loaded('webgpu');
    expect([holder.backend, open('webgpu'), open('wasm')]).toEqual(['webgpu', 3, 0]);
    await expect(holder.withPipeline('generating', (p) => p.generate(request({ steps: 0 })))).rejects.toThrow(/steps must be an integer/);
    await expect(holder.withPipeline('generating', (p) => p.generate(request({ scheduler: 'nope' as never })))).rejects.toThrow(/unknown scheduler/);
    const lora = new Map([['no.such.layer', { rank: 1, down: new Float32Array(1), up: new Float32Array(1) }]]);
    await expect(holder.withPipeline('generating', (p) => p.generate(request({ lora })))).rejects.toThrow(/no\.such\.layer/);
    expect([holder.backend, holder.notice, open('webgpu'), open('wasm'), createdOf('UNet')]).toEqual(['webgpu', undefined, 3, 0, 1]);
    // and the same sessions still make images
    const images = await holder.withPipeline('generating', (p) => p.generate(request()));
    expect(images).toHaveLength(1);
    expect(holder.backend).toBe('webgpu');
  });

  test('a run failing on WebGPU is redone from the start on WASM, whose images match a WASM-only run; WebGPU\'s sessions are released', async () => {
    const { holder, open } = await loaded('webgpu', { failRun: { graph: 'UNet', backend: 'webgpu' } });
    const images = await holder.withPipeline('generating', (p) => p.generate(request()));
    expect(holder.backend).toBe('wasm');
    expect(holder.notice).toMatch(/^WebGPU failed while generating \(UNet: device lost \(injected\)\)\. Running on WASM/);
    expect([open('webgpu'), open('wasm')]).toEqual([0, 3]);
    const wasmOnly = await loaded('wasm');
    const reference = await wasmOnly.holder.withPipeline('generating', (p) => p.generate(request()));
    expect(images[0].rgba).toEqual(reference[0].rgba);
    // it stays on WASM: the next run opens nothing new
    await holder.withPipeline('generating', (p) => p.generate(request()));
    expect([holder.backend, open('webgpu'), open('wasm')]).toEqual(['wasm', 0, 3]);
  });

  test('a run failing on WASM is rethrown (there is nothing to fall back to) and the sessions stay', async () => {
    const { holder, open } = await loaded('wasm', { failRun: { graph: 'UNet', backend: 'wasm' } });
    await expect(holder.withPipeline('generating', (p) => p.generate(request()))).rejects.toThrow(/device lost \(injected\)/);
    expect([holder.backend, holder.notice, open('wasm')]).toEqual(['wasm', undefined, 3]);
  });

  test('WebGPU refusing one graph while the pack opens puts every graph on WASM', async () => {
    const { holder, open } = await loaded('webgpu', { refuseOnWebgpu: 'VAE decoder' });
    expect(holder.backend).toBe('wasm');
    expect(holder.notice).toMatch(/could not load VAE decoder/);
    expect([open('webgpu'), open('wasm')]).toEqual([0, 3]);
  });

  test('the personalizer falls back like the pipeline, and takes the pipeline to WASM with it', async () => {
    const { holder, open } = await loaded('webgpu', { failRun: { graph: 'hypernetwork', backend: 'webgpu' } });
    const size = pack.manifest.hypernet!.imageSize;
    const face = { width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(128) };
    const lidb = await holder.withPersonalizer('personalizing', (p) => p.predict(face));
    expect(lidb.rank).toBe(1);
    expect(holder.backend).toBe('wasm');
    expect(holder.notice).toMatch(/^WebGPU failed while personalizing \(hypernetwork: device lost/);
    expect(open('webgpu')).toBe(0);
    // the pipeline reopens on WASM when it is next used
    await holder.withPipeline('generating', (p) => p.generate(request()));
    expect(open('webgpu')).toBe(0);
    expect(open('wasm')).toBeGreaterThanOrEqual(3);
  });
});

describe('a pack over the budget for both model sets holds one at a time', () => {
  test('the tiny pack keeps the pipeline open beside the personalizer', async () => {
    const { holder, open, createdOf } = await loaded('webgpu');
    const size = pack.manifest.hypernet!.imageSize;
    await holder.withPersonalizer('personalizing', (p) => p.predict({ width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(128) }));
    await holder.withPipeline('generating', (p) => p.generate(request()));
    expect(createdOf('UNet')).toBe(1);
    expect(open()).toBeGreaterThan(3);
  });

  test('over the budget, personalizing closes the pipeline first and generating reopens it (and closes the personalizer), with the same images', async () => {
    const { holder, open, createdOf } = await loaded('webgpu', undefined, 0);
    expect(open()).toBe(3);
    const before = await holder.withPipeline('generating', (p) => p.generate(request()));
    const size = pack.manifest.hypernet!.imageSize;
    await holder.withPersonalizer('personalizing', async (p) => {
      await p.predict({ width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(128) });
      // only the personalizer's sessions are open while it runs
      expect(createdOf('UNet train step')).toBe(1);
      expect(open()).toBe(createdOf('UNet train step') + createdOf('hypernetwork') + createdOf('text encoder gradient') + createdOf('VAE encoder'));
    });
    const after = await holder.withPipeline('generating', (p) => p.generate(request()));
    expect(createdOf('UNet')).toBe(2);
    expect(open()).toBe(3);
    expect(after[0].rgba).toEqual(before[0].rgba);
    expect(holder.backend).toBe('webgpu');
  });
});

describe('sessions of a failed open are released', () => {
  test('three failed personalizer opens (the text-encoder gradient graph cannot load) leave only the pipeline\'s sessions open', async () => {
    const { holder, open, createdOf } = await loaded('wasm', { failOpen: 'text encoder gradient' });
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect(holder.withPersonalizer('personalizing', (p) => p.predict({ width: 1, height: 1, data: new Uint8ClampedArray(4) }))).rejects.toThrow(/text encoder gradient: the model could not be loaded/);
      expect(open(), `after attempt ${attempt}`).toBe(3);
    }
    // each attempt did open the UNet's train step before the text-encoder gradient graph failed
    expect(createdOf('UNet train step')).toBe(3);
    expect(holder.backend).toBe('wasm');
  });

  test('on WebGPU the same failure is tried again on WASM, and neither attempt leaves a session behind', async () => {
    const { holder, open } = await loaded('webgpu', { failOpen: 'UNet train step' });
    await expect(holder.withPersonalizer('personalizing', async () => 'unreachable')).rejects.toThrow(/UNet train step/);
    expect(holder.backend).toBe('wasm');
    expect([open('webgpu'), open('wasm')]).toEqual([0, 0]);
    await holder.unload();
    expect(open()).toBe(0);
  });

  test('nothing loaded: a clear error, not a fallback', async () => {
    const holder = new BackendHolder(countingRuntimes().factory);
    await expect(holder.withPipeline('generating', async () => 1)).rejects.toThrow('No model pack is loaded yet: load one before generating.');
  });
});
