// generate() on the real tiny pack with onnxruntime-node: no mocks anywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../../src/packs/node';
import { createPipeline, GenerateCancelledError, type GenerateOptions, type Pipeline, type StepInfo } from '../../../src/pipeline/pipeline';
import type { LoraValues } from '../../../src/pipeline/lora';
import { SeededRandom } from '../../../src/diffusion/random';

const TINY = fileURLToPath(new URL('../../../public/models/tiny', import.meta.url));

let pipeline: Pipeline;
const base: GenerateOptions = { prompts: ['a photo of a person'], seed: 7, steps: 4, guidance: 7.5, scheduler: 'ddim' };

beforeAll(async () => {
  pipeline = await createPipeline(createNodeRuntime({ backend: 'cpu' }), await loadPackFromDisk(TINY));
});
afterAll(async () => {
  await pipeline?.release();
});

const gen = async (o: Partial<GenerateOptions> = {}) => (await pipeline.generate({ ...base, ...o }))[0];

function sameBytes(a: Uint8ClampedArray, b: Uint8ClampedArray): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function randomLora(layers: { name: string; nIn: number; nOut: number }[], rank: number, seed: number, scale: number): LoraValues {
  const rng = new SeededRandom(seed);
  const out: LoraValues = new Map();
  for (const l of layers) {
    out.set(l.name, {
      rank,
      down: rng.randn(l.nIn * rank).map((v) => v * scale),
      up: rng.randn(rank * l.nOut).map((v) => v * scale),
    });
  }
  return out;
}

describe('generate() on the tiny pack (onnxruntime-node CPU)', () => {
  it('makes an RGBA image of the pack size with pixels that vary', async () => {
    const steps: StepInfo[] = [];
    const img = await gen({ onStep: (s) => steps.push(s) });
    const { width, height } = pipeline.manifest.image;
    expect([img.width, img.height]).toEqual([width, height]);
    expect(img.rgba).toBeInstanceOf(Uint8ClampedArray);
    expect(img.rgba.length).toBe(width * height * 4);
    expect(img.seed).toBe(7);
    expect(img.truncatedNote).toBeUndefined();
    const values = new Set<number>();
    for (let i = 0; i < img.rgba.length; i += 4) {
      expect(img.rgba[i + 3]).toBe(255);
      values.add(img.rgba[i]);
    }
    expect(values.size).toBeGreaterThan(10);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    expect(steps.every((s) => s.steps === 4 && s.image === 0 && s.images === 1)).toBe(true);
  });

  it('gives identical pixels for the same seed and different pixels for another seed', async () => {
    const a = await gen();
    const b = await gen();
    const c = await gen({ seed: 8 });
    expect(sameBytes(a.rgba, b.rgba)).toBe(true);
    expect(sameBytes(a.rgba, c.rgba)).toBe(false);
  });

  it('uses seed + index for the index-th prompt', async () => {
    const both = await pipeline.generate({ ...base, prompts: ['a photo of a person', 'an oil portrait of a person'] });
    expect(both.map((i) => i.seed)).toEqual([7, 8]);
    const second = await gen({ prompts: ['an oil portrait of a person'], seed: 8 });
    expect(sameBytes(both[1].rgba, second.rgba)).toBe(true);
    expect(sameBytes(both[0].rgba, (await gen()).rgba)).toBe(true);
  });

  it('runs every scheduler deterministically', async () => {
    for (const scheduler of ['euler', 'dpmpp2m'] as const) {
      const a = await gen({ scheduler });
      const b = await gen({ scheduler });
      expect(sameBytes(a.rgba, b.rgba)).toBe(true);
    }
    expect(sameBytes((await gen({ scheduler: 'euler' })).rgba, (await gen({ scheduler: 'ddim' })).rgba)).toBe(false);
  });

  it('notes a prompt longer than 77 tokens and still makes the image', async () => {
    const long = Array.from({ length: 100 }, () => 'photo').join(' ');
    const img = await gen({ prompts: [long] });
    expect(img.truncatedNote).toMatch(/prompt is longer than the text encoder's 77 tokens/);
    expect(img.rgba.length).toBe(img.width * img.height * 4);
  });

  it('depends on the guidance scale and the negative prompt', async () => {
    const g1 = await gen({ guidance: 1 });
    const g75 = await gen({ guidance: 7.5 });
    const neg = await gen({ guidance: 7.5, negativePrompt: 'a pencil sketch' });
    expect(sameBytes(g1.rgba, g75.rgba)).toBe(false);
    expect(sameBytes(g75.rgba, neg.rgba)).toBe(false);
    // without guidance the negative prompt is never encoded
    expect(sameBytes(g1.rgba, (await gen({ guidance: 1, negativePrompt: 'a pencil sketch' })).rgba)).toBe(true);
  });

  it('LoRA: zero slots (any rank) give exactly the image without LoRA; non-zero slots change it', async () => {
    const layers = pipeline.manifest.lora.layers;
    expect(layers.some((l) => l.target === 'unet')).toBe(true);
    expect(layers.some((l) => l.target === 'text_encoder')).toBe(true);
    const plain = await gen();
    const zeros = randomLora(layers, 3, 1, 0);
    expect(sameBytes(plain.rgba, (await gen({ lora: zeros })).rgba)).toBe(true);

    const unetLayer = layers.find((l) => l.target === 'unet')!;
    const oneUnet = randomLora([unetLayer], 2, 2, 0.5);
    expect(sameBytes(plain.rgba, (await gen({ lora: oneUnet })).rgba)).toBe(false);

    const textLayer = layers.find((l) => l.target === 'text_encoder')!;
    const oneText = randomLora([textLayer], 1, 3, 0.5);
    expect(sameBytes(plain.rgba, (await gen({ lora: oneText })).rgba)).toBe(false);

    // same values → same pixels
    expect(sameBytes((await gen({ lora: oneUnet })).rgba, (await gen({ lora: oneUnet })).rgba)).toBe(true);
  });

  it('rejects LoRA values for unknown layers or with the wrong size, naming the layer', async () => {
    await expect(gen({ lora: new Map([['no.such.layer', { rank: 1, down: new Float32Array(1), up: new Float32Array(1) }]]) }))
      .rejects.toThrow(/no\.such\.layer/);
    const layer = pipeline.manifest.lora.layers[0];
    await expect(gen({ lora: new Map([[layer.name, { rank: 2, down: new Float32Array(layer.nIn), up: new Float32Array(2 * layer.nOut) }]]) }))
      .rejects.toThrow(new RegExp(`"${layer.name.replace(/\./g, '\\.')}": down has ${layer.nIn} values, expected ${layer.nIn}×2`));
  });

  it('rejects bad requests with a clear message', async () => {
    await expect(gen({ steps: 0 })).rejects.toThrow(/steps/);
    await expect(gen({ seed: -1 })).rejects.toThrow(/seed/);
    await expect(pipeline.generate({ ...base, prompts: [] })).rejects.toThrow(/prompt/);
    await expect(gen({ scheduler: 'plms' as never })).rejects.toThrow(/unknown scheduler "plms"/);
  });

  it('refuses a pack whose graph lacks a LoRA slot its manifest lists, naming the graph and input', async () => {
    const pack = await loadPackFromDisk(TINY);
    const manifest = structuredClone(pack.manifest);
    manifest.lora.layers.push({ name: 'mid_block.attentions.0.transformer_blocks.0.attn9.to_q', target: 'unet', nIn: 32, nOut: 32 });
    await expect(createPipeline(createNodeRuntime(), { manifest, files: pack.files })).rejects.toThrow(
      /UNet \(unet\/model\.onnx\) lacks the inputs lora\.mid_block\.attentions\.0\.transformer_blocks\.0\.attn9\.to_q\.down/,
    );
  });

  it('encodes an image to a latent of the pack latent size (VAE encoder, loaded on demand)', async () => {
    const img = await gen();
    const latent = await pipeline.encodeImage(img);
    const { channels, width, height } = pipeline.manifest.latent;
    expect(latent.length).toBe(channels * width * height);
    expect(latent.every(Number.isFinite)).toBe(true);
    expect(new Set(latent).size).toBeGreaterThan(1);
  });

  it('stops between denoising steps when its signal is aborted: a typed error, no image', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const run = pipeline.generate({
      ...base,
      prompts: ['a photo of a person', 'a second prompt that must never start'],
      steps: 10,
      signal: controller.signal,
      onStep: (s) => {
        seen.push(s.step);
        if (s.step === 2) controller.abort();
      },
    });
    const err = await run.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(GenerateCancelledError);
    expect((err as GenerateCancelledError).step).toBe(2);
    expect((err as GenerateCancelledError).steps).toBe(10);
    expect((err as Error).message).toBe('Generating was cancelled after step 2 of 10.');
    expect(seen).toEqual([1, 2]);
    // the pipeline is usable again after a cancel, and a signal that is never aborted changes nothing
    const after = await gen({ signal: new AbortController().signal });
    expect(sameBytes(after.rgba, (await gen()).rgba)).toBe(true);
  });

  it('an already aborted signal runs no denoising step', async () => {
    const controller = new AbortController();
    controller.abort();
    let steps = 0;
    await expect(pipeline.generate({ ...base, signal: controller.signal, onStep: () => steps++ })).rejects.toThrow(GenerateCancelledError);
    expect(steps).toBe(0);
  });
});
