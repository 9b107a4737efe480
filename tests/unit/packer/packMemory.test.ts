// `hyperbooth pack` with attention split over query blocks (a threshold small enough for the
// fixture's 64-token attention): the same UNet outputs and fine-tune gradients as the unsplit
// pack, and the summary's memory report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { LoadedPack } from '../../../src/packs/types';
import { openFineTuneGraphs } from '../../../src/finetune/fineTuneGraphs';
import { modelSource } from '../../../src/pipeline/modelSource';
import { zeroLoraFeeds } from '../../../src/pipeline/lora';
import { SeededRandom } from '../../../src/diffusion/random';
import { drawNoise } from '../../../src/finetune/draws';
import { trainStep } from '../../../src/finetune/trainStep';
import { initLidb } from '../../../src/lidb/lidb';
import { LidbRng } from '../../../src/lidb/random';
import { decodeModel } from '../../../src/onnx';
import { formatSummary, type PackResult } from '../../../src/packer';
import { fixture, float32, maxAbs, maxAbsDiff, packFixture, removeTempDirs, runFile } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });
let whole: { result: PackResult; pack: LoadedPack };
let split: { result: PackResult; pack: LoadedPack };

beforeAll(async () => {
  const a = await packFixture('diffusers', { textEncoderLora: true, id: 'whole' });
  const b = await packFixture('diffusers', { textEncoderLora: true, id: 'split', attentionChunkBytes: 16 * 1024 });
  whole = { result: a, pack: await loadPackFromDisk(a.dir) };
  split = { result: b, pack: await loadPackFromDisk(b.dir) };
}, 240_000);
afterAll(removeTempDirs);

describe('pack: attention over query blocks', () => {
  it('splits only above the threshold, and says so in the manifest and summary', () => {
    expect(whole.result.manifest.conversion.attentionChunks).toBeUndefined();
    const chunks = split.result.manifest.conversion.attentionChunks!;
    expect(chunks.attentions).toBeGreaterThan(0);
    const unet = decodeModel(split.pack.files('unet/model.onnx')).graph!.node!;
    expect(unet.some((n) => /\/chunk\.1\/Softmax/.test(n.name ?? ''))).toBe(true);
    const summary = formatSummary(split.result);
    expect(summary).toMatch(/attention: \d+ UNet attentions split over query blocks/);
    expect(summary).toMatch(/memory at 64 px/);
    expect(summary).toMatch(/fine-tune step \(batch 1\)\s+peak/);
  });

  it('writes a memory report of every graph it can size, the fine-tune above generate', () => {
    const m = split.result.memory!;
    expect(m.imageSize).toBe(64);
    const { vaeEncode, ...rest } = m.graphs;
    for (const e of Object.values(rest)) {
      expect(e!.peakBytes).toBeGreaterThan(e!.weightsBytes);
      expect(e!.largestTensorBytes).toBeGreaterThan(0);
    }
    expect(m.graphs.fineTuneStep!.peakBytes).toBeGreaterThan(m.graphs.generate!.peakBytes);
    // the export's VAE encoder pads by run-time shape arithmetic (torch's F.pad) that the static
    // inference does not follow: it is named, not guessed
    expect(vaeEncode).toBeNull();
    expect(m.unsized).toEqual([expect.stringMatching(/^vaeEncode: cannot size \d+ tensors statically.*Pad_output_0/)]);
    expect(split.result.warnings.some((w) => w.startsWith('memory report: vaeEncode'))).toBe(true);
  });

  it("the split UNet gives the export's outputs (≤ 1e-5)", async () => {
    const m = split.pack.manifest;
    const rng = new SeededRandom(4);
    const feeds = {
      sample: float32(rng.randn(2 * 4 * 8 * 8), [2, 4, 8, 8]),
      timestep: float32(new Float32Array([981, 981]), [2]),
      encoder_hidden_states: float32(rng.randn(2 * m.text.maxLength * m.text.hiddenSize), [2, m.text.maxLength, m.text.hiddenSize]),
    };
    const original = await runFile(join(fixture('diffusers'), 'unet/model.onnx'), feeds, 'out_sample');
    const session = await runtime.createSession(modelSource('unet', m.models.unet, split.pack.files));
    const packed = (await session.run({ ...feeds, ...zeroLoraFeeds(m.lora.layers, 'unet') }, ['out_sample'])).out_sample.data as Float32Array;
    await session.release();
    expect(maxAbs(original)).toBeGreaterThan(0.01);
    expect(maxAbsDiff(packed, original)).toBeLessThanOrEqual(1e-5);
  });

  it('one fine-tune step: the same loss and gradients as the unsplit pack', async () => {
    const step = async (pack: LoadedPack) => {
      const graphs = openFineTuneGraphs(runtime, pack);
      try {
        const lidb = initLidb(pack.manifest.lora.layers, 2, new LidbRng(5, 'init'));
        for (const w of lidb.layers.values()) for (let i = 0; i < w.uTrain.length; i++) w.uTrain[i] = 0.01 * Math.sin(i + 1);
        const latent = new SeededRandom(8).randn(4 * 8 * 8);
        return await trainStep(await graphs.train(), graphs.context(latent), lidb, drawNoise(new SeededRandom(9), 1000, latent.length));
      } finally {
        await graphs.release();
      }
    };
    const a = await step(whole.pack);
    const b = await step(split.pack);
    expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(a.loss));
    for (const [name, g] of a.grads) {
      const h = b.grads.get(name)!;
      const scale = Math.max(maxAbs(g.dTrain), maxAbs(g.uTrain), 1e-6);
      expect(maxAbsDiff(h.dTrain, g.dTrain) / scale, name).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(h.uTrain, g.uTrain) / scale, name).toBeLessThanOrEqual(1e-4);
    }
  });
});
