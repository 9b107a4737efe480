// --fp16 and --chunk-mb: the same fixture packed three ways must load and run, and give the
// float32 pack's outputs (exactly, for chunking; within float16 rounding, for --fp16).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { LoadedPack } from '../../../src/packs/types';
import { modelSource } from '../../../src/pipeline/modelSource';
import { zeroLoraFeeds } from '../../../src/pipeline/lora';
import { createPipeline } from '../../../src/pipeline/pipeline';
import { SeededRandom } from '../../../src/diffusion/random';
import { decodeModel, externalLocation, onnx, toNumber } from '../../../src/onnx';
import { readSafetensors } from '../../../src/safetensors';
import { PackInputError, type PackResult } from '../../../src/packer';
import { validateManifest } from '../../../src/packs/manifest';
import type { Feeds } from '../../../src/runtime/types';
import { float32, maxAbs, maxAbsDiff, packFixture, removeTempDirs } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });
let base: { result: PackResult; pack: LoadedPack };
let half: { result: PackResult; pack: LoadedPack };
let chunked: { result: PackResult; pack: LoadedPack };
let recomputed: { result: PackResult; pack: LoadedPack };
const CHUNK = 40 * 1024;

beforeAll(async () => {
  const load = async (result: PackResult) => ({ result, pack: await loadPackFromDisk(result.dir) });
  base = await load(await packFixture('diffusers', { textEncoderLora: true }));
  half = await load(await packFixture('diffusers', { textEncoderLora: true, fp16: true }));
  chunked = await load(await packFixture('diffusers', { textEncoderLora: true, chunkBytes: CHUNK }));
  recomputed = await load(await packFixture('diffusers', { textEncoderLora: true, recompute: true }));
});
afterAll(removeTempDirs);

const rng = new SeededRandom(21);
const feeds: Feeds = {
  sample: float32(rng.randn(2 * 4 * 8 * 8), [2, 4, 8, 8]),
  timestep: float32(new Float32Array([500, 500]), [2]),
  encoder_hidden_states: float32(rng.randn(2 * 77 * 16), [2, 77, 16]),
};
/** a non-zero LoRA on every UNet slot, so the slot branch is compared too */
function someLora(pack: LoadedPack): Feeds {
  const f: Feeds = {};
  for (const l of pack.manifest.lora.layers.filter((x) => x.target === 'unet')) {
    f[`lora.${l.name}.down`] = float32(rng.randn(l.nIn * 2).map((v) => 0.1 * v), [l.nIn, 2]);
    f[`lora.${l.name}.up`] = float32(rng.randn(2 * l.nOut).map((v) => 0.1 * v), [2, l.nOut]);
  }
  return f;
}
async function unetOut(pack: LoadedPack, lora: Feeds): Promise<Float32Array> {
  const s = await runtime.createSession(modelSource('unet', pack.manifest.models.unet, pack.files));
  try {
    return (await s.run({ ...feeds, ...zeroLoraFeeds(pack.manifest.lora.layers, 'unet'), ...lora }, ['out_sample'])).out_sample.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('--fp16', () => {
  it('stores float16 weights once, computes the forward and train graphs in float16, records it, and keeps float32 inputs/outputs', () => {
    const m = half.result.manifest;
    expect(m.conversion).toMatchObject({ weights: 'float16', compute: 'float16', fp16MinBytes: 1024, note: expect.stringMatching(/VAE and train graphs compute in float16/) });
    expect(m.precision).toEqual({ weights: 'float16', compute: { unet: 'float16', textEncoder: 'float16', vaeDecoder: 'float16', vaeEncoder: 'float16', train: 'float16' } });
    // the memory report's sizes, for the app's fit check before any download (src/packs/fit.ts)
    expect(m.requirements).toMatchObject({ imageSize: m.image.width, largestTensorBytes: half.result.memory!.graphs.vaeDecode!.largestTensorBytes });
    expect(m.requirements!.peakBytes.fineTuneStep).toBe(half.result.memory!.graphs.fineTuneStep!.peakBytes);
    expect(base.result.manifest.precision).toEqual({ weights: 'float32', compute: { unet: 'float32', textEncoder: 'float32', vaeDecoder: 'float32', vaeEncoder: 'float32', train: 'float32' } });
    const { FLOAT, FLOAT16 } = onnx.TensorProto.DataType;
    const graph = decodeModel(half.pack.files('unet/model.onnx')).graph!;
    const train = decodeModel(half.pack.files(m.train!.unet.file)).graph!;
    // the chunks hold float16 weights `W::fp16` that both graphs read through a Cast to float16
    // (a no-op), the train graph at each use
    const shared = graph.initializer!.filter((t) => externalLocation(t));
    expect(shared.length).toBeGreaterThan(30);
    for (const t of shared) {
      expect(t.dataType, t.name!).toBe(FLOAT16);
      expect(t.name!.endsWith('::fp16'), t.name!).toBe(true);
      const twin = train.initializer!.find((x) => x.name === t.name)!;
      expect(twin.dataType, t.name!).toBe(FLOAT16);
      expect(externalLocation(twin), t.name!).toEqual(externalLocation(t));
    }
    const castTo = (g: typeof graph, to: number) => g.node!.filter((n) => n.opType === 'Cast' && toNumber(n.attribute![0].i as number) === to && shared.some((t) => t.name === n.input![0])).length;
    expect(castTo(graph, FLOAT16)).toBe(shared.length);
    // the train graph reads each float16 weight where it is used, from a gated view of it, so
    // onnxruntime's constant folding makes no copy (src/packer/weightsOnce.ts), and never as float32
    expect(castTo(train, FLOAT)).toBe(0);
    const gated = new Set(train.node!.filter((n) => n.opType === 'Reshape' && shared.some((t) => t.name === n.input![0])).map((n) => n.output![0]));
    const castsAtUse = train.node!.filter((n) => n.opType === 'Cast' && toNumber(n.attribute![0].i as number) === FLOAT16 && gated.has(n.input![0]));
    expect(new Set(castsAtUse.map((n) => train.node!.find((r) => r.output![0] === n.input![0])!.input![0])).size).toBe(shared.length);
    // the forward graph's float math: float16 except what stays float32 by design
    const ops = (g: typeof graph, dtype: number) => new Set(g.node!.filter((n) => n.opType === 'Cast' && toNumber(n.attribute![0].i as number) === dtype).flatMap((n) => n.name!.startsWith('/float16/') ? [n.name!] : []));
    expect(ops(graph, FLOAT16).size).toBeGreaterThan(0);
    // the train graph was differentiated from it: its float16/float32 boundaries are the same
    expect(train.node!.some((n) => n.name!.startsWith('/float16/'))).toBe(true);
    const smallF32 = graph.initializer!.filter((t) => !externalLocation(t) && t.dataType === FLOAT);
    const smallF16 = graph.initializer!.filter((t) => !externalLocation(t) && t.dataType === FLOAT16);
    expect(smallF16.length).toBeGreaterThan(smallF32.length);
    for (const io of [...graph.input!, ...graph.output!]) {
      if (io.name === 'timestep') continue;
      expect(io.type!.tensorType!.elemType, io.name!).toBe(onnx.TensorProto.DataType.FLOAT);
    }
    const weightBytes = (r: PackResult, part: string) => r.manifest.files.filter((f) => f.path.startsWith(`${part}/weights.`)).reduce((s, f) => s + f.size, 0);
    for (const part of ['unet', 'text_encoder', 'vae_decoder', 'vae_encoder']) {
      const ratio = weightBytes(half.result, part) / weightBytes(base.result, part);
      expect(ratio, part).toBeGreaterThan(0.45);
      expect(ratio, part).toBeLessThan(0.55);
    }
    const aux = readSafetensors(half.pack.files(m.lidb!.aux));
    expect(new Set([...aux.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F16']));
  });

  it('stays close to the float32 pack (UNet output, with and without LoRA)', async () => {
    const lora = someLora(base.pack);
    for (const l of [{}, lora]) {
      const ref = await unetOut(base.pack, l);
      const got = await unetOut(half.pack, l);
      const diff = maxAbsDiff(got, ref);
      console.log(`fp16 vs fp32 pack, UNet out_sample: max |diff| ${diff.toExponential(2)} (max |out| ${maxAbs(ref).toFixed(3)})${Object.keys(l).length ? ' with LoRA' : ''}`);
      expect(diff).toBeGreaterThan(0);
      // float16 compute since convertToFloat16: measured 2.2e-3 (1.5e-3 with LoRA) of max |out| 1.35
      expect(diff).toBeLessThan(5e-3 * maxAbs(ref));
    }
  });

  it('manifest.precision is validated', () => {
    const m = half.result.manifest;
    expect(() => validateManifest({ ...m, precision: { ...m.precision!, compute: { ...m.precision!.compute, train: 'bfloat16' } } })).toThrow('precision.compute.train "bfloat16" is not float16 or float32');
    expect(() => validateManifest({ ...m, precision: { weights: 'half', compute: m.precision!.compute } })).toThrow('precision.weights "half" is not float16 or float32');
  });

  it('VAE encoder and decoder in float16 stay close to the float32 pack', async () => {
    const x = float32(rng.randn(3 * 64 * 64).map((v) => Math.tanh(v)), [1, 3, 64, 64]);
    const z = float32(rng.randn(4 * 8 * 8), [1, 4, 8, 8]);
    const run = async (p: LoadedPack, part: 'vaeEncoder' | 'vaeDecoder') => {
      const s = await runtime.createSession(modelSource(part, p.manifest.models[part], p.files));
      try {
        const [name, feed] = part === 'vaeEncoder' ? ['sample', x] : ['latent_sample', z];
        return Object.values(await s.run({ [name]: feed }))[0].data as Float32Array;
      } finally {
        await s.release();
      }
    };
    for (const part of ['vaeEncoder', 'vaeDecoder'] as const) {
      const ref = await run(base.pack, part);
      const got = await run(half.pack, part);
      const diff = maxAbsDiff(got, ref);
      console.log(`fp16 vs fp32 pack, ${part}: max |diff| ${diff.toExponential(2)} (max |out| ${maxAbs(ref).toFixed(3)})`);
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(1e-2 * maxAbs(ref));
    }
  });

  it('generates an image and runs the train graph', async () => {
    const pipeline = await createPipeline(runtime, half.pack);
    try {
      const [img] = await pipeline.generate({ prompts: ['a photo of sks face'], seed: 1, steps: 2, guidance: 7.5, scheduler: 'ddim' });
      expect(img.rgba.length).toBe(64 * 64 * 4);
    } finally {
      await pipeline.release();
    }
    const train = await runtime.createSession(modelSource('train', half.pack.manifest.train!.unet, half.pack.files));
    try {
      const one = (n: string) => ({ ...feeds[n], dims: [1, ...feeds[n].dims.slice(1)], data: (feeds[n].data as Float32Array).slice(0, feeds[n].data.length / 2) });
      const lora = someLora(half.pack);
      const out = await train.run({ sample: one('sample'), timestep: float32(new Float32Array([500]), [1]), encoder_hidden_states: one('encoder_hidden_states'), target: one('sample'), ...lora }, ['loss']);
      expect(Number.isFinite((out.loss.data as Float32Array)[0])).toBe(true);
    } finally {
      await train.release();
    }
  });
});

describe('--chunk-mb', () => {
  it('splits each part\'s weights into several files of at most the chunk size, never splitting a tensor', () => {
    const m = chunked.result.manifest;
    const unetChunks = m.models.unet.externalData!;
    expect(unetChunks.length).toBeGreaterThanOrEqual(3);
    expect(unetChunks).toEqual(unetChunks.map((_, i) => `unet/weights.${i}.bin`));
    expect(m.train!.unet.externalData).toEqual(unetChunks);
    for (const f of m.files.filter((x) => x.path.includes('/weights.'))) {
      expect(f.size, f.path).toBeLessThanOrEqual(CHUNK);
      expect(statSync(join(chunked.result.dir, f.path)).size).toBe(f.size);
    }
    // every external tensor lies inside one chunk
    const graph = decodeModel(chunked.pack.files('unet/model.onnx')).graph!;
    for (const t of graph.initializer!) {
      const at = externalLocation(t);
      if (!at) continue;
      expect(at.offset + at.length!).toBeLessThanOrEqual(chunked.pack.files(`unet/${at.location}`).length);
    }
    // the same bytes overall as one chunk, give or take alignment padding
    const total = (r: PackResult) => r.manifest.files.filter((f) => f.path.startsWith('unet/weights.')).reduce((s, f) => s + f.size, 0);
    expect(Math.abs(total(chunked.result) - total(base.result))).toBeLessThan(64 * unetChunks.length);
  });

  it('loads and gives exactly the single-chunk pack\'s outputs', async () => {
    const lora = someLora(base.pack);
    expect(maxAbsDiff(await unetOut(chunked.pack, lora), await unetOut(base.pack, lora))).toBe(0);
  });

  it('refuses a chunk smaller than the largest tensor, naming it', async () => {
    const err = await packFixture('diffusers', { chunkBytes: 2048 }).catch((e) => e);
    expect(err).toBeInstanceOf(PackInputError);
    expect(err.message).toMatch(/^tensor \S+ has \d+ bytes, more than the chunk size 2048 \(tensors are never split\): raise --chunk-mb$/);
  });
});

describe('--recompute', () => {
  it('writes a UNet train graph that recomputes block activations and gives the same loss and gradients', async () => {
    expect(recomputed.result.manifest.conversion.recompute).toBe('auto');
    expect(decodeModel(recomputed.pack.files('unet/train.onnx')).graph!.node!.some((n) => n.name!.endsWith('_recomputed'))).toBe(true);
    expect(decodeModel(base.pack.files('unet/train.onnx')).graph!.node!.some((n) => n.name!.endsWith('_recomputed'))).toBe(false);
    const lora = someLora(base.pack);
    const half1 = (n: string) => float32((feeds[n].data as Float32Array).slice(0, feeds[n].data.length / 2), [1, ...feeds[n].dims.slice(1)]);
    const first = base.pack.manifest.lora.layers[0].name;
    const fetch = ['loss', `lora.${first}.down_grad`, 'encoder_hidden_states_grad'];
    const step = async (pack: LoadedPack) => {
      const s = await runtime.createSession(modelSource('train', pack.manifest.train!.unet, pack.files));
      try {
        return await s.run({ sample: half1('sample'), timestep: float32(new Float32Array([500]), [1]), encoder_hidden_states: half1('encoder_hidden_states'), target: half1('sample'), ...lora }, fetch);
      } finally {
        await s.release();
      }
    };
    const [a, b] = [await step(base.pack), await step(recomputed.pack)];
    for (const k of fetch) {
      const x = a[k].data as Float32Array;
      expect(maxAbsDiff(b[k].data as Float32Array, x), k).toBeLessThanOrEqual(1e-6 * Math.max(1, maxAbs(x)));
    }
  });
});
