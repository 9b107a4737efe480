// The pack made from a miniature SD1.x checkpoint (SD1.5's layout and head counts, every weight
// random) runs in onnxruntime-node and equals the torch modules' outputs that
// tools/fixtures/make_checkpoint_fixtures.py recorded: text encoder, UNet, VAE encoder (mean) and
// VAE decoder, for the committed F16 file and its F32 copy. Also: the older text-encoder prefix,
// the diffusers folder and BF16 give the same pack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, toFloat32, toNumbers, type RawTensor } from '../../../src/safetensors';
import { decodeModel, externalLocation, readTensorProto } from '../../../src/onnx';
import { zeroLoraFeeds } from '../../../src/pipeline/lora';
import type { PackResult } from '../../../src/packer';
import type { Feeds } from '../../../src/runtime/types';
import { float32, maxAbs, maxAbsDiff, removeTempDirs, runFile } from '../packer/helpers';
import { DIFFUSERS_DIR, F16_FILE, packMini, reference, writeInDtype, writeVariant } from './helpers';

const TOLERANCE = 1e-4;
const ref = reference();
const tensor = (name: string): RawTensor => ref.tensors.get(name)!;
const values = (name: string) => toFloat32(tensor(name));

const packs: Record<string, PackResult> = {};
beforeAll(async () => {
  packs.f16 = await packMini(F16_FILE);
  packs.f32 = await packMini(writeInDtype('F32'));
}, 120_000);
afterAll(removeTempDirs);

async function outputs(r: PackResult): Promise<Record<'text' | 'unet' | 'mean' | 'decoded', Float32Array>> {
  const m = r.manifest;
  const ids = tensor('in.input_ids');
  const text = await runFile(join(r.dir, m.models.textEncoder.file), {
    input_ids: { type: 'int32', dims: ids.shape, data: Int32Array.from(toNumbers(ids)) },
  }, 'last_hidden_state');
  const unetFeeds: Feeds = {
    sample: float32(values('in.sample'), tensor('in.sample').shape),
    timestep: float32(values('in.timestep'), [1]),
    encoder_hidden_states: float32(values('in.context'), tensor('in.context').shape),
    ...zeroLoraFeeds(m.lora.layers, 'unet'),
  };
  const unet = await runFile(join(r.dir, m.models.unet.file), unetFeeds, 'out_sample');
  const moments = await runFile(join(r.dir, m.models.vaeEncoder.file), { sample: float32(values('in.image'), tensor('in.image').shape) }, 'latent_parameters');
  const decoded = await runFile(join(r.dir, m.models.vaeDecoder.file), { latent_sample: float32(values('in.latent'), tensor('in.latent').shape) }, 'sample');
  // moments are [mean, logvar] stacked on channels: the mean is the first half
  return { text, unet, mean: moments.slice(0, moments.length / 2), decoded };
}

describe.each(['f16', 'f32'])('%s checkpoint → pack: the graphs equal the torch modules', (dtype) => {
  let out: Awaited<ReturnType<typeof outputs>>;
  beforeAll(async () => { out = await outputs(packs[dtype]); }, 60_000);

  it.each([
    ['text encoder (last_hidden_state)', 'text', 'out.text.last_hidden_state'],
    ['UNet (out_sample)', 'unet', 'out.unet.out_sample'],
    ['VAE encoder (mean of the posterior)', 'mean', 'out.vae.mean'],
    ['VAE decoder (sample)', 'decoded', 'out.vae.decoded'],
  ] as const)('%s within 1e-4', (_what, key, refName) => {
    const want = values(refName);
    expect(out[key].length).toBe(want.length);
    // a real signal, not zeros that would match anything
    expect(maxAbs(want)).toBeGreaterThan(0.1);
    const diff = maxAbsDiff(out[key], want);
    console.log(`${dtype} ${key}: max |pack − torch| = ${diff.toExponential(2)} (max |torch| ${maxAbs(want).toFixed(2)})`);
    expect(diff).toBeLessThan(TOLERANCE);
  });
});

describe('same pack from every form of the same weights', () => {
  /** every file but manifest.json (which names the source), by path and sha256 */
  const graphFiles = (r: PackResult) => r.manifest.files.map((f) => `${f.path} ${f.sha256}`).sort();

  it('F32 and F16 files give byte-identical packs (F16 is converted to float32 as read)', () => {
    expect(graphFiles(packs.f32)).toEqual(graphFiles(packs.f16));
  });

  it('with --fp16 too: F16 weights go in as they are, F32 ones through float32 → float16, the same bytes', async () => {
    const [f16, f32] = [await packMini(F16_FILE, { fp16: true, id: 'f16' }), await packMini(writeInDtype('F32'), { fp16: true, id: 'f32' })];
    expect(graphFiles(f16)).toEqual(graphFiles(f32));
    expect(graphFiles(f16)).not.toEqual(graphFiles(packs.f16));
  });

  it('the older text-encoder prefix cond_stage_model.transformer.* (no text_model.) gives the same pack', async () => {
    const legacy = writeVariant('legacy.safetensors', (t) => ({ ...t, name: t.name.replace('cond_stage_model.transformer.text_model.', 'cond_stage_model.transformer.') }));
    expect(graphFiles(await packMini(legacy))).toEqual(graphFiles(packs.f16));
  });

  it('the diffusers folder of safetensors gives the same pack, tokenizer included', async () => {
    const r = await packMini(DIFFUSERS_DIR);
    expect(r.checkpoint.layout).toBe('diffusers');
    expect(r.checkpoint.tokenizer).toMatch(/vocab\.json/);
    expect(graphFiles(r)).toEqual(graphFiles(packs.f16));
  });

  it('BF16: each weight in the pack is the BF16 value converted to float32 (Linear weights transposed)', async () => {
    const path = writeInDtype('BF16');
    const r = await packMini(path);
    const src = readSafetensors(new Uint8Array(readFileSync(path)));
    const model = decodeModel(readFileSync(join(r.dir, r.manifest.models.unet.file)));
    const read = (loc: string, off: number, len: number | undefined) => new Uint8Array(readFileSync(join(r.dir, 'unet', loc))).subarray(off, off + (len ?? 0));
    const packed = (name: string) => readTensorProto(model.graph!.initializer!.find((t) => t.name === name)!, read).data as Float32Array;
    const conv = packed('conv_in.weight');
    expect(Array.from(conv)).toEqual(Array.from(toFloat32(src.tensors.get('model.diffusion_model.input_blocks.0.0.weight')!)));
    const q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight';
    const torchQ = toFloat32(src.tensors.get('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight')!);
    const [nOut, nIn] = src.tensors.get('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight')!.shape;
    const packedQ = packed(q);
    expect(externalLocation(model.graph!.initializer!.find((t) => t.name === q)!)).not.toBeNull();
    for (const [o, i] of [[0, 1], [3, 7], [nOut - 1, nIn - 1]]) expect(packedQ[i * nOut + o]).toBe(torchQ[o * nIn + i]);
    // BF16 differs from the F16 weights (8 mantissa bits, not 11): a different, not a broken, pack
    expect(graphFiles(r)).not.toEqual(graphFiles(packs.f16));
  });

  it('the manifest records what was read: dtypes, schedule from betas, tokenizer, ignored keys', () => {
    const c = packs.f16.manifest.conversion.checkpoint!;
    expect(c.layout).toBe('single-file');
    expect(c.dtypes).toEqual({ F16: 362 });
    expect(c.used).toEqual(['betas']);
    expect(c.schedule).toMatch(/read from betas: scaled_linear 0.00085 → 0.012 over 1000 steps/);
    expect(c.ignored).toEqual(expect.arrayContaining(['alphas_cumprod', 'model_ema.decay', 'cond_stage_model.transformer.text_model.embeddings.position_ids']));
    expect(c.tokenizer).toMatch(/cut to the model's 1000 ids/);
    expect(packs.f16.manifest.schedule).toEqual({ numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear', predictionType: 'epsilon' });
    expect(packs.f16.manifest.lora.layers.filter((l) => l.target === 'unet')).toHaveLength(32);
  });
});
