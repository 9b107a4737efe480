// `hyperbooth pack` on the committed SD1.5-structured exports (both layouts), then the built
// packs run in onnxruntime-node through the app's own code: no mocks anywhere.
import { STYLE_PRESETS } from '../../../src/packs/stylePresets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { LoadedPack } from '../../../src/packs/types';
import { createPipeline } from '../../../src/pipeline/pipeline';
import { openFineTuneGraphs } from '../../../src/finetune/fineTuneGraphs';
import { createPersonalizer } from '../../../src/finetune/personalize';
import { modelSource } from '../../../src/pipeline/modelSource';
import { zeroLoraFeeds } from '../../../src/pipeline/lora';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer';
import { SeededRandom } from '../../../src/diffusion/random';
import { drawNoise } from '../../../src/finetune/draws';
import { trainStep } from '../../../src/finetune/trainStep';
import { initLidb } from '../../../src/lidb/lidb';
import { LidbRng } from '../../../src/lidb/random';
import { sd15LoraLayers } from '../../../src/lidb/layers';
import { readAuxFile } from '../../../src/lidb/aux';
import { readSafetensors } from '../../../src/safetensors';
import { decodeModel, externalLocation } from '../../../src/onnx';
import type { PackResult } from '../../../src/packer';
import type { Feeds, Tensor } from '../../../src/runtime/types';
import type { PackManifest } from '../../../src/packs/manifest';
import { fixture, float32, maxAbs, maxAbsDiff, packFixture, removeTempDirs, runFile } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });
const rng = new SeededRandom(11);

type Layout = 'diffusers' | 'optimum';
const built: Record<Layout, { result: PackResult; pack: LoadedPack }> = {} as never;

beforeAll(async () => {
  // diffusers with text-encoder LoRA, optimum without: both manifest shapes get exercised
  for (const [layout, textEncoderLora] of [['diffusers', true], ['optimum', false]] as const) {
    const result = await packFixture(layout, { textEncoderLora });
    built[layout] = { result, pack: await loadPackFromDisk(result.dir) };
  }
});
afterAll(removeTempDirs);

/** UNet feeds in the layout's timestep dtype/shape, batch 2 as generate() runs them. */
function unetFeeds(m: PackManifest): Feeds {
  const { channels, height, width } = m.latent;
  const ts: Tensor = m.unet.timestepDtype === 'int64'
    ? { type: 'int64', dims: [2], data: new BigInt64Array([981n, 981n]) }
    : { type: 'float32', dims: [2], data: new Float32Array([981, 981]) };
  return {
    sample: float32(rng.randn(2 * channels * height * width), [2, channels, height, width]),
    timestep: ts,
    encoder_hidden_states: float32(rng.randn(2 * m.text.maxLength * m.text.hiddenSize), [2, m.text.maxLength, m.text.hiddenSize]),
  };
}

function idsFeed(m: PackManifest, pack: LoadedPack): Tensor {
  const ids = ClipTokenizer.fromJSON(JSON.parse(new TextDecoder().decode(pack.files(m.tokenizer)))).encode('a photo of sks face in the style of van gogh', m.text.maxLength).ids;
  return m.text.inputDtype === 'int64'
    ? { type: 'int64', dims: [1, ids.length], data: BigInt64Array.from(ids, (v) => BigInt(v)) }
    : { type: 'int32', dims: [1, ids.length], data: ids };
}

async function runPackGraph(pack: LoadedPack, which: keyof PackManifest['models'], feeds: Feeds, output: string): Promise<Float32Array> {
  const session = await runtime.createSession(modelSource(which, pack.manifest.models[which], pack.files));
  try {
    return (await session.run(feeds, [output]))[output].data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('hyperbooth pack on the committed fixtures', () => {
  it('finds every attention projection by module path: 80 UNet + 8 text-encoder layers (diffusers), 32 UNet (optimum)', () => {
    const d = built.diffusers.result.manifest.lora.layers;
    const o = built.optimum.result.manifest.lora.layers;
    expect(d.filter((l) => l.target === 'unet')).toHaveLength(80);
    expect(d.filter((l) => l.target === 'text_encoder')).toHaveLength(8);
    expect(o.filter((l) => l.target === 'unet')).toHaveLength(32);
    expect(o.filter((l) => l.target === 'text_encoder')).toHaveLength(0);
    // the fixtures mirror diffusers' module tree: every UNet name is one of SD1.5's 128
    const sd15 = new Set(sd15LoraLayers().map((l) => l.name));
    for (const l of [...d, ...o].filter((x) => x.target === 'unet')) expect(sd15.has(l.name), l.name).toBe(true);
    expect(d.filter((l) => l.target === 'text_encoder').map((l) => l.name)).toEqual(
      [0, 1].flatMap((i) => ['q_proj', 'k_proj', 'v_proj', 'out_proj'].map((p) => `text_model.encoder.layers.${i}.self_attn.${p}`)));
    // the counts differ from SD1.5's, and the dims are not SD1.5's: a warning, not an error
    expect(built.diffusers.result.warnings.join('\n')).toMatch(/found 80 UNet LoRA layers; SD1\.5 has 128/);
    expect(built.diffusers.result.warnings.join('\n')).toMatch(/found 8 text-encoder LoRA layers; SD1\.5 has 48/);
  });

  it("reads the exporters' differences into the manifest: timestep, input_ids, image size, VAE output", () => {
    const d = built.diffusers.result.manifest;
    const o = built.optimum.result.manifest;
    expect(d.unet).toEqual({ timestepDtype: 'float32', timestepShape: 'batch' });
    expect(o.unet).toEqual({ timestepDtype: 'int64', timestepShape: 'batch' });
    expect(d.text).toEqual({ maxLength: 77, hiddenSize: 16, inputDtype: 'int32' });
    expect(o.text).toEqual({ maxLength: 77, hiddenSize: 16, inputDtype: 'int64' });
    for (const m of [d, o]) {
      expect(m.image).toEqual({ width: 64, height: 64 });
      expect(m.latent).toEqual({ channels: 4, width: 8, height: 8, scale: 0.18215 });
      expect(m.schedule).toEqual({ numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear', predictionType: 'epsilon' });
      expect(m.vaeEncoderOutput).toBe('moments');
      // an SD1.5 pack offers the usual presets, which its text encoder knows
      expect(m.styles).toEqual(STYLE_PRESETS);
    }
    expect(d.conversion.source.storage).toMatchObject({ unet: 'external file weights.pb', text_encoder: 'inline' });
    expect(o.conversion.source.storage).toMatchObject({ unet: 'external file model.onnx_data', text_encoder: expect.stringMatching(/^one file per tensor \(\d+ files\)$/) });
    expect(d.conversion).toMatchObject({ weights: 'float32', compute: 'float32' });
  });

  it('writes the train graphs beside the graphs they share weights with; text-encoder gradient only with --text-encoder-lora', () => {
    const d = built.diffusers.result.manifest;
    const o = built.optimum.result.manifest;
    expect(d.train!.unet).toEqual({ file: 'unet/train.onnx', externalData: d.models.unet.externalData });
    expect(d.train!.textEncoder).toEqual({ file: 'text_encoder/grad.onnx', externalData: d.models.textEncoder.externalData });
    expect(o.train!.textEncoder).toBeUndefined();
    expect(o.train!.unet.file).toBe('unet/train.onnx');
    const forward = decodeModel(built.diffusers.pack.files('unet/model.onnx'));
    const train = decodeModel(built.diffusers.pack.files('unet/train.onnx'));
    const refs = (m: typeof forward) => new Map(m.graph!.initializer!.flatMap((t) => { const at = externalLocation(t); return at ? [[t.name!, at] as const] : []; }));
    expect(refs(forward).size).toBeGreaterThan(30);
    expect(refs(train)).toEqual(refs(forward));
  });

  it('lists every file with its size and sha256 (the loader verifies them) and tokenizer.json from vocab.json + merges.txt', () => {
    for (const layout of ['diffusers', 'optimum'] as const) {
      const { result, pack } = built[layout];
      const onDisk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? onDisk(join(dir, f)).map((x) => `${f}/${x}`) : [f]));
      expect(onDisk(result.dir).sort()).toEqual([...result.manifest.files.map((f) => f.path), 'manifest.json'].sort());
      expect(pack.localBytes).toBe(result.manifest.files.reduce((s, f) => s + f.size, 0));
      const tok = ClipTokenizer.fromJSON(JSON.parse(new TextDecoder().decode(pack.files('tokenizer/tokenizer.json'))));
      // the fixture vocabulary made these words single tokens, like CLIP's real one
      expect(tok.tokenize('a photo of sks face')).toHaveLength(5);
    }
  });

  it('writes aux bases for exactly the layer list (float32 without --fp16)', () => {
    const { result, pack } = built.diffusers;
    const aux = readAuxFile(pack.files(result.manifest.lidb!.aux), result.manifest.lora.layers);
    expect(aux.bases.size).toBe(88);
    const st = readSafetensors(pack.files(result.manifest.lidb!.aux));
    expect(new Set([...st.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F32']));
  });

  for (const layout of ['diffusers', 'optimum'] as const) {
    it(`${layout}: with zero slots the pack's UNet, text encoder and VAE decoder give the exported originals' outputs (≤ 1e-5)`, async () => {
      const { pack } = built[layout];
      const m = pack.manifest;
      const feeds = unetFeeds(m);
      const original = await runFile(join(fixture(layout), 'unet/model.onnx'), feeds, 'out_sample');
      const packed = await runPackGraph(pack, 'unet', { ...feeds, ...zeroLoraFeeds(m.lora.layers, 'unet') }, 'out_sample');
      expect(maxAbs(original)).toBeGreaterThan(0.01);
      expect(maxAbsDiff(packed, original)).toBeLessThanOrEqual(1e-5);

      const ids = idsFeed(m, pack);
      const teOriginal = await runFile(join(fixture(layout), 'text_encoder/model.onnx'), { input_ids: ids }, 'last_hidden_state');
      const tePacked = await runPackGraph(pack, 'textEncoder', { input_ids: ids, ...zeroLoraFeeds(m.lora.layers, 'text_encoder') }, 'last_hidden_state');
      expect(maxAbsDiff(tePacked, teOriginal)).toBeLessThanOrEqual(1e-5);

      const latent = { latent_sample: float32(rng.randn(4 * 8 * 8), [1, 4, 8, 8]) };
      const decOriginal = await runFile(join(fixture(layout), 'vae_decoder/model.onnx'), latent, 'sample');
      expect(maxAbsDiff(await runPackGraph(pack, 'vaeDecoder', latent, 'sample'), decOriginal)).toBeLessThanOrEqual(1e-5);
    });
  }

  it("VAE encoder: the pack outputs the posterior's moments in both layouts (diffusers' export samples; the packer cuts at quant_conv)", async () => {
    const image = { sample: float32(rng.randn(3 * 64 * 64).map((v) => Math.tanh(v)), [1, 3, 64, 64]) };
    // the two fixtures hold the same VAE weights; optimum's export outputs the moments itself
    const moments = await runFile(join(fixture('optimum'), 'vae_encoder/model.onnx'), image, 'latent_parameters');
    expect(moments).toHaveLength(8 * 8 * 8);
    for (const layout of ['diffusers', 'optimum'] as const) {
      expect(maxAbsDiff(await runPackGraph(built[layout].pack, 'vaeEncoder', image, 'latent_parameters'), moments), layout).toBeLessThanOrEqual(1e-5);
    }
    const graph = decodeModel(built.diffusers.pack.files('vae_encoder/model.onnx')).graph!;
    expect(graph.node!.some((n) => n.opType === 'RandomNormalLike')).toBe(false);
  });

  for (const layout of ['diffusers', 'optimum'] as const) {
    it(`${layout}: generate() makes an image from the built pack in Node`, async () => {
      const pipeline = await createPipeline(runtime, built[layout].pack);
      try {
        const [img] = await pipeline.generate({ prompts: ['a photo of sks face as a pixar character'], seed: 3, steps: 2, guidance: 7.5, scheduler: 'euler' });
        expect([img.width, img.height]).toEqual([64, 64]);
        expect(new Set(img.rgba.filter((_, i) => i % 4 === 0)).size).toBeGreaterThan(20);
        const [again] = await pipeline.generate({ prompts: ['a photo of sks face as a pixar character'], seed: 3, steps: 2, guidance: 7.5, scheduler: 'euler' });
        expect(Buffer.from(again.rgba).equals(Buffer.from(img.rgba))).toBe(true);
      } finally {
        await pipeline.release();
      }
    });

    it(`${layout}: one fine-tune step through the train graph${layout === 'diffusers' ? 's (UNet + text encoder)' : ' (UNet only)'}: finite loss, finite non-zero gradients for every layer`, async () => {
      const { pack } = built[layout];
      const personalizer = await createPersonalizer(runtime, pack);
      const graphs = openFineTuneGraphs(runtime, pack);
      try {
        const layers = pack.manifest.lora.layers;
        const lidb = initLidb(layers, 2, new LidbRng(5, 'init'));
        // U_train = 0 would zero ∂/∂D_train: give it small values so both factors get gradient
        for (const w of lidb.layers.values()) for (let i = 0; i < w.uTrain.length; i++) w.uTrain[i] = 0.01 * Math.sin(i + 1);
        const latent = rng.randn(4 * 8 * 8);
        const step = await trainStep(await graphs.train(), graphs.context(latent), lidb, drawNoise(new SeededRandom(9), 1000, latent.length));
        expect(Number.isFinite(step.loss)).toBe(true);
        expect(step.loss).toBeGreaterThan(0);
        expect(step.grads.size).toBe(layers.length);
        // The diffusers fixture's mid block runs at 1×1 (8×8 latents, three downsamplers): its
        // self-attention has one token, softmax over one score is constant, so q and k get
        // exactly zero gradient. Everything else must get some.
        const singleToken = /^mid_block\.attentions\.0\.transformer_blocks\.0\.attn1\.to_[qk]$/;
        for (const [name, g] of step.grads) {
          for (const part of [g.dTrain, g.uTrain]) {
            expect(part.every(Number.isFinite), name).toBe(true);
            expect(part.some((v) => v !== 0), name).toBe(!(layout === 'diffusers' && singleToken.test(name)));
          }
        }
        // and personalize's own loop takes a step from the relaxed start
        const outcome = await personalizer.fineTune(lidb, latent, { settings: { steps: 1, learningRate: 1e-3, rank: 2, seed: 1 } });
        expect(outcome.losses).toHaveLength(1);
        expect(outcome.stoppedEarly).toBeUndefined();
      } finally {
        await Promise.all([personalizer.release(), graphs.release()]);
      }
    });
  }
});
