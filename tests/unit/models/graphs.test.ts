import { describe, it, expect, beforeAll } from 'vitest';
import { feedInputs, opsetVersion, readTensorProto, valueType, type ModelProto } from '../../../src/onnx';
import { buildTinyModels, buildTinyPack, LORA_RANK_DIM, type TinyModels } from '../../../src/models';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer';
import { STYLE_PRESETS, stylePrompt } from '../../../src/packs/stylePresets';
import { loraInputNames, type PackManifest } from '../../../src/packs/manifest';
import { f32, loraFeeds, maxAbsDiff, randn, session, summary } from './helpers';
import { PACK_OPS } from './packOps';

let models: TinyModels;
let manifest: PackManifest;
const BATCH = 2;

beforeAll(() => {
  models = buildTinyModels();
  manifest = buildTinyPack().manifest;
});

const graphs = (): [string, ModelProto][] => [
  ['text_encoder', models.textEncoder], ['unet', models.unet], ['vae_encoder', models.vaeEncoder], ['vae_decoder', models.vaeDecoder],
];

function declared(model: ModelProto, name: string) {
  const v = [...(model.graph!.input ?? []), ...(model.graph!.output ?? [])].find((x) => x.name === name);
  if (!v) throw new Error(`no graph input/output ${name}`);
  return valueType(v)!;
}

describe('tiny pack graphs', () => {
  it('use only default-domain opset-17 ops from the allowed list', () => {
    for (const [name, m] of graphs()) {
      expect(m.opsetImport!.map((o) => o.domain ?? '')).toEqual(['']);
      expect(opsetVersion(m)).toBe(17);
      const nodes = m.graph!.node!;
      expect(nodes.every((n) => (n.domain ?? '') === ''), name).toBe(true);
      const used = [...new Set(nodes.map((n) => n.opType!))].sort();
      expect(used.filter((op) => !PACK_OPS.includes(op)), name).toEqual([]);
    }
    const all = new Set(graphs().flatMap(([, m]) => m.graph!.node!.map((n) => n.opType!)));
    expect([...all].sort()).toEqual([...PACK_OPS].sort());
  });

  it('declare the diffusers export I/O names and the manifest shapes', () => {
    const L = manifest.latent;
    const T = manifest.text;
    expect(declared(models.textEncoder, 'input_ids')).toEqual({ dtype: T.inputDtype, shape: ['batch', T.maxLength] });
    expect(declared(models.textEncoder, 'last_hidden_state')).toEqual({ dtype: 'float32', shape: ['batch', T.maxLength, T.hiddenSize] });
    expect(declared(models.textEncoder, 'pooler_output')).toEqual({ dtype: 'float32', shape: ['batch', T.hiddenSize] });
    expect(declared(models.unet, 'sample').shape).toEqual(['batch', L.channels, L.height, L.width]);
    expect(declared(models.unet, 'timestep')).toEqual({ dtype: manifest.unet.timestepDtype, shape: ['batch'] });
    expect(declared(models.unet, 'encoder_hidden_states').shape).toEqual(['batch', T.maxLength, T.hiddenSize]);
    expect(declared(models.unet, 'out_sample').shape).toEqual(['batch', L.channels, L.height, L.width]);
    expect(declared(models.vaeEncoder, 'sample').shape).toEqual(['batch', 3, manifest.image.height, manifest.image.width]);
    expect(declared(models.vaeEncoder, 'latent_parameters').shape).toEqual(['batch', 2 * L.channels, L.height, L.width]);
    expect(declared(models.vaeDecoder, 'latent_sample').shape).toEqual(['batch', L.channels, L.height, L.width]);
    expect(declared(models.vaeDecoder, 'sample').shape).toEqual(['batch', 3, manifest.image.height, manifest.image.width]);
  });

  it('name nodes and initializers by diffusers module paths, projections as bare [in, out] MatMuls', () => {
    const nodes = new Map(models.unet.graph!.node!.map((n) => [n.name!, n]));
    const inits = new Map(models.unet.graph!.initializer!.map((t) => [t.name!, t]));
    const q = nodes.get('/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul');
    expect(q?.opType).toBe('MatMul');
    expect(q!.input![1]).toBe('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight');
    expect(readTensorProto(inits.get(q!.input![1])!).dims).toEqual([32, 32]);
    // cross-attention keys read the text: [cross_attention_dim, channels]
    const k2 = nodes.get('/up_blocks.0/attentions.1/transformer_blocks.0/attn2/to_k/MatMul')!;
    expect(readTensorProto(inits.get(k2.input![1])!).dims).toEqual([32, 64]);
    expect(nodes.get('/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_out.0/Add')?.input?.[1])
      .toBe('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.bias');
    // slot nodes as insertLoraSlots writes them into a real export
    expect(nodes.get('/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/lora/down/MatMul')?.input)
      .toEqual([q!.input![0], loraInputNames('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q').down]);
    expect(nodes.get('/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/lora/up/MatMul')?.input?.[1])
      .toBe(loraInputNames('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q').up);
    expect(nodes.get('/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_out.0/lora/Add')?.input?.[0])
      .toBe(nodes.get('/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_out.0/MatMul')!.output![0]);
    for (const name of ['/mid_block/attentions.0/transformer_blocks.0/ff/net.0/proj/MatMul', '/down_blocks.0/downsamplers.0/conv/Conv',
      '/up_blocks.0/upsamplers.0/Resize', '/time_embedding/linear_1/Gemm', '/conv_out/Conv',
      '/down_blocks.0/resnets.0/norm1/InstanceNormalization', '/up_blocks.1/resnets.0/conv_shortcut/Conv']) {
      expect(nodes.has(name), name).toBe(true);
    }
    const te = new Set(models.textEncoder.graph!.node!.map((n) => n.name!));
    expect(te.has('/text_model/encoder/layers.1/self_attn/out_proj/MatMul')).toBe(true);
    expect(te.has('/text_model/encoder/layers.1/self_attn/out_proj/lora/Add')).toBe(true);
    const ve = new Set(models.vaeEncoder.graph!.node!.map((n) => n.name!));
    expect(ve.has('/encoder/mid_block/attentions.0/to_q/MatMul') && ve.has('/quant_conv/Conv')).toBe(true);
    const vd = new Set(models.vaeDecoder.graph!.node!.map((n) => n.name!));
    expect(vd.has('/post_quant_conv/Conv') && vd.has('/decoder/up_blocks.2/upsamplers.0/conv/Conv')).toBe(true);
  });

  it('have one rank-free LoRA slot per manifest layer, in graph order', () => {
    const layers = manifest.lora.layers;
    expect(layers.filter((l) => l.target === 'unet')).toHaveLength(7 * 2 * 4); // 7 transformer blocks × (attn1, attn2) × q/k/v/out
    expect(layers.filter((l) => l.target === 'text_encoder')).toHaveLength(2 * 4);
    for (const [target, model] of [['unet', models.unet], ['text_encoder', models.textEncoder]] as const) {
      const slotInputs = feedInputs(model.graph!).filter((i) => i.name!.startsWith(manifest.lora.inputPrefix));
      const expected = layers.filter((l) => l.target === target).flatMap((l) => [loraInputNames(l.name).down, loraInputNames(l.name).up]);
      expect(slotInputs.map((i) => i.name)).toEqual(expected);
      for (const l of layers.filter((x) => x.target === target)) {
        const byName = new Map(slotInputs.map((i) => [i.name!, valueType(i)!]));
        expect(byName.get(loraInputNames(l.name).down)!.shape).toEqual([l.nIn, LORA_RANK_DIM]);
        expect(byName.get(loraInputNames(l.name).up)!.shape).toEqual([LORA_RANK_DIM, l.nOut]);
      }
    }
    expect(layers.find((l) => l.name === 'mid_block.attentions.0.transformer_blocks.0.attn2.to_v')).toEqual(
      { name: 'mid_block.attentions.0.transformer_blocks.0.attn2.to_v', target: 'unet', nIn: 32, nOut: 64, a: 32, b: 50 });
  });

  it('text encoder: finite, position-dependent hidden states; pooled output = hidden state at the EOS', async () => {
    const tok = ClipTokenizer.fromJSON(models.tokenizer);
    const prompts = [stylePrompt(STYLE_PRESETS[0], manifest.trigger), 'a photo of a person'];
    const enc = prompts.map((p) => tok.encode(p, manifest.text.maxLength));
    const ids = new Int32Array(BATCH * manifest.text.maxLength);
    enc.forEach((e, i) => ids.set(e.ids, i * manifest.text.maxLength));
    const s = await session('text_encoder', models.textEncoder);
    const out = await s.run({ input_ids: { type: 'int32', data: ids, dims: [BATCH, manifest.text.maxLength] },
      ...loraFeeds(manifest.lora.layers.filter((l) => l.target === 'text_encoder'), 1, (_, __, n) => new Float32Array(n)) });
    const h = out.last_hidden_state;
    const D = manifest.text.hiddenSize;
    expect(h.dims).toEqual([BATCH, manifest.text.maxLength, D]);
    const st = summary(h.data as Float32Array);
    expect(st.finite).toBe(true);
    expect(st.std).toBeGreaterThan(0.5);
    expect(st.std).toBeLessThan(2);
    const row = (b: number, t: number) => Array.from((h.data as Float32Array).subarray((b * manifest.text.maxLength + t) * D, (b * manifest.text.maxLength + t + 1) * D));
    // both prompts start "a photo of": causal attention keeps those rows equal; position 4 differs
    expect(maxAbsDiff(row(0, 3), row(1, 3))).toBeLessThan(1e-6);
    expect(maxAbsDiff(row(0, 4), row(1, 4))).toBeGreaterThan(1e-2);
    expect(row(0, 70)).not.toEqual(row(0, 71)); // same padding token, different positions
    expect(out.pooler_output.dims).toEqual([BATCH, D]);
    for (let b = 0; b < BATCH; b++) {
      expect(Array.from((out.pooler_output.data as Float32Array).subarray(b * D, (b + 1) * D))).toEqual(row(b, enc[b].eosIndex));
    }
    await s.release();
  });

  it('UNet: finite, input-dependent noise prediction of the latent shape', async () => {
    const L = manifest.latent;
    const T = manifest.text;
    const s = await session('unet', models.unet);
    const n = L.channels * L.height * L.width;
    const feeds = (t: [number, number], textSeed: number) => ({
      sample: f32(randn(BATCH * n, 1), [BATCH, L.channels, L.height, L.width]),
      timestep: f32(new Float32Array(t), [BATCH]),
      encoder_hidden_states: f32(randn(BATCH * T.maxLength * T.hiddenSize, textSeed), [BATCH, T.maxLength, T.hiddenSize]),
      ...loraFeeds(manifest.lora.layers.filter((l) => l.target === 'unet'), 1, (_, __, k) => new Float32Array(k)),
    });
    const a = (await s.run(feeds([999, 10], 2))).out_sample;
    expect(a.dims).toEqual([BATCH, L.channels, L.height, L.width]);
    const st = summary(a.data as Float32Array);
    expect(st.finite).toBe(true);
    expect(st.std).toBeGreaterThan(0.05);
    expect(st.std).toBeLessThan(10);
    const otherTime = (await s.run(feeds([500, 10], 2))).out_sample.data as Float32Array;
    const otherText = (await s.run(feeds([999, 10], 3))).out_sample.data as Float32Array;
    const first = (x: Float32Array) => Array.from(x.subarray(0, n));
    expect(first(otherTime)).not.toEqual(first(a.data as Float32Array));
    expect(first(otherText)).not.toEqual(first(a.data as Float32Array));
    await s.release();
  });

  it('VAE: encoder moments of the latent grid, decoder image of the pack size', async () => {
    const L = manifest.latent;
    const { width: W, height: H } = manifest.image;
    const enc = await session('vae_encoder', models.vaeEncoder);
    const img = randn(BATCH * 3 * H * W, 4).map((v) => Math.max(-1, Math.min(1, v / 2)));
    const moments = (await enc.run({ sample: f32(img, [BATCH, 3, H, W]) })).latent_parameters;
    expect(moments.dims).toEqual([BATCH, 2 * L.channels, L.height, L.width]);
    const ms = summary(moments.data as Float32Array);
    expect(ms.finite && ms.std > 0.05 && ms.std < 10).toBe(true);

    const dec = await session('vae_decoder', models.vaeDecoder);
    const latent = f32(randn(BATCH * L.channels * L.height * L.width, 5, 1 / L.scale * 0.2), [BATCH, L.channels, L.height, L.width]);
    const image = (await dec.run({ latent_sample: latent })).sample;
    expect(image.dims).toEqual([BATCH, 3, H, W]);
    const is = summary(image.data as Float32Array);
    expect(is.finite && is.std > 0.05 && is.std < 10).toBe(true);
    await enc.release();
    await dec.release();
  });
});
