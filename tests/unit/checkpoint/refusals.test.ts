// Every refusal of `pack --from <checkpoint>`: a typed CheckpointError whose message names what
// the file is and what to give instead, and nothing written: --out is not created, an existing
// pack there is left as it was, and no staging folder stays behind.
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, type CheckpointRefusal } from '../../../src/checkpoint/errors';
import { packCheckpoint } from '../../../src/checkpoint/packCheckpoint';
import { PackInputError } from '../../../src/packer';
import { removeTempDirs, tempDir } from '../packer/helpers';
import { DIFFUSERS_DIR, F16_FILE, MINI_IMAGE, writeBytes, writeKeysOnly, writeVariant } from './helpers';

afterAll(removeTempDirs);

const UNET = 'model.diffusion_model.';

/** The F16 fixture with one run of header bytes replaced by another of the same length. */
function damageHeader(from: string, to: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(F16_FILE));
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 200_000));
  const at = text.indexOf(from);
  if (at < 0 || from.length !== to.length) throw new Error(`cannot damage the header at ${from}`);
  bytes.set(new TextEncoder().encode(to), at);
  return bytes;
}

/** Packs `from` over an existing pack folder and returns the error; checks nothing was touched. */
async function refusal(from: string): Promise<CheckpointError> {
  const root = tempDir('refusal');
  const out = join(root, 'pack');
  mkdirSync(out);
  writeFileSync(join(out, 'manifest.json'), 'the pack that was here');
  const err = await packCheckpoint({ from, out, imageSize: MINI_IMAGE }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CheckpointError);
  expect(err).toBeInstanceOf(PackInputError);
  expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe('the pack that was here');
  expect(readdirSync(root)).toEqual(['pack']);
  return err as CheckpointError;
}

const cases: [string, () => string, CheckpointRefusal, RegExp][] = [
  ['a pickle (.ckpt, protocol 2)', () => writeBytes('model.ckpt', new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x0a, 0x00, 0x00])), 'pickle',
    /model\.ckpt is a PyTorch pickle file.*never opens one.*safetensors.*weights_only=True.*save_file/],
  ['a PyTorch zip checkpoint (.pt)', () => writeBytes('model.pt', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0, 0, 0])), 'pickle', /zip checkpoint.*never opens one.*\.safetensors/],
  ['a pickle named .safetensors', () => writeBytes('renamed.safetensors', new Uint8Array([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0])), 'pickle', /renamed\.safetensors is a PyTorch pickle/],
  ['SDXL', () => writeKeysOnly('sdxl.safetensors', [['conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight', [4, 8]], [`${UNET}input_blocks.0.0.weight`, [32, 4, 3, 3]]]), 'sdxl', /Stable Diffusion XL.*conditioner\.embedders.*SD1\.5-based/],
  ['SD2.x (OpenCLIP keys)', () => writeKeysOnly('sd2.safetensors', [['cond_stage_model.model.token_embedding.weight', [4, 8]], [`${UNET}input_blocks.0.0.weight`, [32, 4, 3, 3]]]), 'sd2', /Stable Diffusion 2\.x.*OpenCLIP/],
  ['SD2.x (context 1024)', () => writeKeysOnly('sd21.safetensors', [[`${UNET}input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight`, [8, 1024]], [`${UNET}input_blocks.0.0.weight`, [32, 4, 3, 3]]]), 'sd2', /reads 1024-wide text.*Stable Diffusion 2\.x/],
  ['an inpainting UNet (9 input channels)', () => writeVariant('inpaint.safetensors', (t) => (t.name === `${UNET}input_blocks.0.0.weight` ? { ...t, shape: [32, 9, 3, 3], bytes: new Uint8Array(2 * 32 * 9 * 9) } : t)), 'inpainting', /inpainting model.*9 input channels.*text-to-image/],
  ['v-prediction (v_pred key)', () => writeVariant('vpred.safetensors', (t) => t, [{ name: 'v_pred', dtype: 'F32', shape: [], bytes: new Uint8Array(4) }]), 'v-prediction', /v-prediction model.*v_pred key.*epsilon/],
  ['v-prediction (metadata)', () => writeVariant('vpred-meta.safetensors', (t) => t, [], { 'modelspec.prediction_type': 'v' }), 'v-prediction', /prediction_type v/],
  ['a kohya LoRA', () => writeKeysOnly('lora.safetensors', [['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight', [4, 32]], ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight', [32, 4]], ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha', []]]), 'lora', /is a LoRA.*not a full model.*Import LoRA/],
  ['a PEFT LoRA', () => writeKeysOnly('peft.safetensors', [['unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight', [4, 32]]]), 'lora', /is a LoRA/],
  ['a truncated file', () => writeBytes('cut.safetensors', new Uint8Array(readFileSync(F16_FILE)).subarray(0, 600_000)), 'truncated', /cut\.safetensors is truncated.*download it again/],
  ['a truncated header', () => writeBytes('cut-header.safetensors', new Uint8Array(readFileSync(F16_FILE)).subarray(0, 2000)), 'truncated', /header claims/],
  ['a corrupt header', () => writeBytes('corrupt.safetensors', damageHeader('"dtype":"F16"', '"dtype":"F17"')), 'corrupt', /corrupt\.safetensors is damaged.*dtype "F17"/],
  ['a header whose offsets overlap', () => writeBytes('overlap.safetensors', damageHeader('"data_offsets":[0,', '"data_offsets":[2,')), 'corrupt', /overlap\.safetensors is damaged: tensor .*(needs|overlaps)/],
  ['not safetensors at all', () => writeBytes('notes.safetensors', new TextEncoder().encode('these are my notes, not a model at all')), 'not-safetensors', /not a \.safetensors file/],
  ['a UNet-only file', () => writeVariant('unet-only.safetensors', (t) => (t.name.startsWith(UNET) ? t : null)), 'missing-part', /lacks the VAE.*and the CLIP text encoder/],
  ['a VAE on its own', () => writeKeysOnly('vae.safetensors', [['encoder.conv_in.weight', [32, 3, 3, 3]], ['decoder.conv_in.weight', [32, 4, 3, 3]]]), 'not-sd1', /a VAE on its own/],
  ['an unknown UNet layout', () => writeVariant('odd.safetensors', (t) => t, [{ name: `${UNET}input_blocks.1.2.extra.weight`, dtype: 'F16', shape: [2], bytes: new Uint8Array(4) }]), 'not-sd1', /UNet tensor that Stable Diffusion 1\.x does not have \(model\.diffusion_model\.input_blocks\.1\.2\.extra\.weight\)/],
  ['a cosine schedule', () => writeVariant('cosine.safetensors', (t) => (t.name === 'betas' ? { ...t, bytes: new Uint8Array(new Float32Array(1000).map((_, i) => 0.0001 + 0.02 * Math.sin((i / 999) * Math.PI / 2) ** 2).buffer) } : t)), 'schedule', /neither a scaled-linear nor a linear schedule/],
];

describe('refusals: typed, with the reason and what to do, and nothing half-written', () => {
  it.each(cases)('%s', async (_what, make, reason, message) => {
    const err = await refusal(make());
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
  });

  it('a diffusers folder whose scheduler says v_prediction', async () => {
    const dir = join(tempDir('diffusers'), 'vpred');
    cpSync(DIFFUSERS_DIR, dir, { recursive: true });
    const cfg = join(dir, 'scheduler', 'scheduler_config.json');
    writeFileSync(cfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, 'utf8')), prediction_type: 'v_prediction' }));
    const err = await refusal(dir);
    expect(err.reason).toBe('v-prediction');
    expect(err.message).toMatch(/prediction_type v_prediction/);
  });

  it('a diffusers folder without its VAE names the missing file', async () => {
    const dir = join(tempDir('diffusers'), 'novae');
    cpSync(DIFFUSERS_DIR, dir, { recursive: true, filter: (src) => !src.startsWith(join(DIFFUSERS_DIR, 'vae')) });
    expect(existsSync(join(dir, 'vae'))).toBe(false);
    const err = await refusal(dir);
    expect(err.reason).toBe('missing-part');
    expect(err.message).toMatch(/no vae\/diffusion_pytorch_model\.safetensors/);
  });
});
