// The tensor list of a Stable Diffusion 1.x checkpoint in the original single-file layout
// (CompVis names and torch shapes), for any widths, and a writer that streams such a file to
// disk with random F16/F32 values without holding it in memory: the import benchmark makes a
// full-size SD1.5-shaped checkpoint with it. A unit test checks the list against the torch
// fixture (tools/fixtures/make_checkpoint_fixtures.py), so both describe the same layout.
import { closeSync, openSync, writeSync } from 'node:fs';
import { toHalf } from '../../../src/onnx/float16';

export interface Sd1Shape {
  unet: { channels: number; mult: number[]; layers: number; attentionLevels: number[]; context: number; inChannels: number };
  vae: { channels: number; mult: number[]; layers: number; latent: number };
  text: { vocab: number; positions: number; width: number; intermediate: number; layers: number };
}

export const SD15_SHAPE: Sd1Shape = {
  unet: { channels: 320, mult: [1, 2, 4, 4], layers: 2, attentionLevels: [0, 1, 2], context: 768, inChannels: 4 },
  vae: { channels: 128, mult: [1, 2, 4, 4], layers: 2, latent: 4 },
  text: { vocab: 49408, positions: 77, width: 768, intermediate: 3072, layers: 12 },
};

export interface TensorSpec { name: string; shape: number[]; dtype?: 'I64' }

export function sd1CheckpointTensors(s: Sd1Shape): TensorSpec[] {
  const out: TensorSpec[] = [];
  const add = (name: string, ...shape: number[]) => out.push({ name, shape });
  const linear = (p: string, nOut: number, nIn: number, bias = true) => { add(`${p}.weight`, nOut, nIn); if (bias) add(`${p}.bias`, nOut); };
  const conv = (p: string, cout: number, cin: number, k: number) => { add(`${p}.weight`, cout, cin, k, k); add(`${p}.bias`, cout); };
  const norm = (p: string, c: number) => { add(`${p}.weight`, c); add(`${p}.bias`, c); };

  const u = s.unet;
  const U = 'model.diffusion_model.';
  const emb = 4 * u.channels;
  const res = (p: string, cin: number, cout: number) => {
    norm(`${p}.in_layers.0`, cin); conv(`${p}.in_layers.2`, cout, cin, 3); linear(`${p}.emb_layers.1`, cout, emb);
    norm(`${p}.out_layers.0`, cout); conv(`${p}.out_layers.3`, cout, cout, 3);
    if (cin !== cout) conv(`${p}.skip_connection`, cout, cin, 1);
  };
  const transformer = (p: string, c: number) => {
    norm(`${p}.norm`, c); conv(`${p}.proj_in`, c, c, 1);
    const b = `${p}.transformer_blocks.0`;
    for (const [attn, kv] of [['attn1', c], ['attn2', u.context]] as const) {
      linear(`${b}.${attn}.to_q`, c, c, false); linear(`${b}.${attn}.to_k`, c, kv, false); linear(`${b}.${attn}.to_v`, c, kv, false); linear(`${b}.${attn}.to_out.0`, c, c);
    }
    linear(`${b}.ff.net.0.proj`, 8 * c, c); linear(`${b}.ff.net.2`, c, 4 * c);
    for (const n of ['norm1', 'norm2', 'norm3']) norm(`${b}.${n}`, c);
    conv(`${p}.proj_out`, c, c, 1);
  };
  linear(`${U}time_embed.0`, emb, u.channels); linear(`${U}time_embed.2`, emb, emb);
  conv(`${U}input_blocks.0.0`, u.channels, u.inChannels, 3);
  let block = 1;
  let ch = u.channels;
  const skips = [ch];
  u.mult.forEach((m, level) => {
    for (let j = 0; j < u.layers; j++) {
      res(`${U}input_blocks.${block}.0`, ch, m * u.channels);
      ch = m * u.channels;
      if (u.attentionLevels.includes(level)) transformer(`${U}input_blocks.${block}.1`, ch);
      skips.push(ch);
      block++;
    }
    if (level < u.mult.length - 1) { conv(`${U}input_blocks.${block}.0.op`, ch, ch, 3); skips.push(ch); block++; }
  });
  res(`${U}middle_block.0`, ch, ch); transformer(`${U}middle_block.1`, ch); res(`${U}middle_block.2`, ch, ch);
  block = 0;
  [...u.mult.entries()].reverse().forEach(([level, m]) => {
    for (let j = 0; j <= u.layers; j++) {
      res(`${U}output_blocks.${block}.0`, ch + skips.pop()!, m * u.channels);
      ch = m * u.channels;
      const attn = u.attentionLevels.includes(level);
      if (attn) transformer(`${U}output_blocks.${block}.1`, ch);
      if (level > 0 && j === u.layers) conv(`${U}output_blocks.${block}.${attn ? 2 : 1}.conv`, ch, ch, 3);
      block++;
    }
  });
  norm(`${U}out.0`, u.channels); conv(`${U}out.2`, u.inChannels, u.channels, 3);

  const v = s.vae;
  const V = 'first_stage_model.';
  const vres = (p: string, cin: number, cout: number) => {
    norm(`${p}.norm1`, cin); conv(`${p}.conv1`, cout, cin, 3); norm(`${p}.norm2`, cout); conv(`${p}.conv2`, cout, cout, 3);
    if (cin !== cout) conv(`${p}.nin_shortcut`, cout, cin, 1);
  };
  const mid = (p: string, c: number) => {
    vres(`${p}.mid.block_1`, c, c);
    norm(`${p}.mid.attn_1.norm`, c);
    for (const n of ['q', 'k', 'v', 'proj_out']) conv(`${p}.mid.attn_1.${n}`, c, c, 1);
    vres(`${p}.mid.block_2`, c, c);
  };
  conv(`${V}encoder.conv_in`, v.channels, 3, 3);
  let c = v.channels;
  v.mult.forEach((m, level) => {
    for (let j = 0; j < v.layers; j++) { vres(`${V}encoder.down.${level}.block.${j}`, c, m * v.channels); c = m * v.channels; }
    if (level < v.mult.length - 1) conv(`${V}encoder.down.${level}.downsample.conv`, c, c, 3);
  });
  mid(`${V}encoder`, c); norm(`${V}encoder.norm_out`, c); conv(`${V}encoder.conv_out`, 2 * v.latent, c, 3);
  c = v.channels * v.mult[v.mult.length - 1];
  conv(`${V}decoder.conv_in`, c, v.latent, 3);
  mid(`${V}decoder`, c);
  for (let level = v.mult.length - 1; level >= 0; level--) {
    for (let j = 0; j <= v.layers; j++) { vres(`${V}decoder.up.${level}.block.${j}`, c, v.mult[level] * v.channels); c = v.mult[level] * v.channels; }
    if (level > 0) conv(`${V}decoder.up.${level}.upsample.conv`, c, c, 3);
  }
  norm(`${V}decoder.norm_out`, c); conv(`${V}decoder.conv_out`, 3, c, 3);
  conv(`${V}quant_conv`, 2 * v.latent, 2 * v.latent, 1); conv(`${V}post_quant_conv`, v.latent, v.latent, 1);

  const t = s.text;
  const T = 'cond_stage_model.transformer.text_model.';
  add(`${T}embeddings.token_embedding.weight`, t.vocab, t.width);
  add(`${T}embeddings.position_embedding.weight`, t.positions, t.width);
  out.push({ name: `${T}embeddings.position_ids`, shape: [1, t.positions], dtype: 'I64' });
  for (let i = 0; i < t.layers; i++) {
    const p = `${T}encoder.layers.${i}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) linear(`${p}.self_attn.${n}`, t.width, t.width);
    norm(`${p}.layer_norm1`, t.width); linear(`${p}.mlp.fc1`, t.intermediate, t.width); linear(`${p}.mlp.fc2`, t.width, t.intermediate); norm(`${p}.layer_norm2`, t.width);
  }
  norm(`${T}final_layer_norm`, t.width);
  return out;
}

/**
 * Streams a safetensors file of these tensors with random values (small, as trained weights
 * are; norms near 1) to `path`, through one reusable block: memory stays a few MB whatever
 * the file's size. Returns the file's size.
 */
export function writeRandomCheckpoint(path: string, tensors: readonly TensorSpec[], dtype: 'F16' | 'F32', seed = 1): number {
  const size = dtype === 'F16' ? 2 : 4;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'I64' ? 8 : size);
    header[t.name] = { dtype: t.dtype ?? dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const BLOCK = 1 << 22;
  let s = seed >>> 0;
  const random = new Uint8Array(BLOCK + 8);
  const view = new DataView(random.buffer);
  for (let i = 0; i + size <= random.length; i += size) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = (s / 2 ** 32 - 0.5) * 0.05;
    if (dtype === 'F16') view.setUint16(i, toHalf(v), true); else view.setFloat32(i, v, true);
  }
  const fd = openSync(path, 'w');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setUint32(0, json.length, true);
    writeSync(fd, len);
    writeSync(fd, new TextEncoder().encode(json));
    let k = 0;
    for (const t of tensors) {
      let left = (header[t.name] as { data_offsets: number[] }).data_offsets[1] - (header[t.name] as { data_offsets: number[] }).data_offsets[0];
      if (t.dtype === 'I64') {
        const ids = new BigInt64Array(left / 8).map((_, i) => BigInt(i));
        writeSync(fd, new Uint8Array(ids.buffer));
        continue;
      }
      while (left > 0) {
        // a different start in the block per write, so tensors do not repeat each other
        const start = ((k++ * 7919) % (BLOCK / 8)) * 8;
        const n = Math.min(left, BLOCK - start);
        writeSync(fd, random, start, n);
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + offset;
}
