import { describe, expect, it } from 'vitest';
import {
  completeSlots, exportLora, importLora, initLidb, kohyaModuleName, LidbRng, lidbToLoraFile, lidbToSlots, LoraFileError,
  makeAuxBases, padSlotRank, peftModuleName, sd15LoraLayers, writeLidbFile, type LoraFileErrorCode, type LoraSlots,
} from '../../../src/lidb';
import { encodeFloats, readSafetensors, toFloat32, writeSafetensors, type TensorToWrite } from '../../../src/safetensors';
import { AUX_SHA, matmul64, maxAbs, maxAbsDiff, randomArray, SMALL_LAYERS } from './helpers';

const aux = makeAuxBases(SMALL_LAYERS, 11);
const rng = new LidbRng(12);
const lidb = initLidb(SMALL_LAYERS, 2, rng);
for (const w of lidb.layers.values()) w.uTrain.set(randomArray(w.uTrain.length, rng, 0.2));
const slots = lidbToSlots(lidb, aux);

/** ΔW = down·up of every layer, float64 */
function products(s: LoraSlots) {
  return new Map(SMALL_LAYERS.filter((l) => s.has(l.name)).map((l) => {
    const x = s.get(l.name)!;
    return [l.name, matmul64(x.down, x.up, l.nIn, x.rank, l.nOut)];
  }));
}

function codeOf(f: () => unknown): LoraFileErrorCode | 'none' {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LoraFileError);
    return (e as LoraFileError).code;
  }
  return 'none';
}

const f32 = (values: ArrayLike<number>) => encodeFloats(values, 'F32');

describe('LoRA names', () => {
  it('use the kohya and PEFT conventions', () => {
    const sd = sd15LoraLayers();
    expect(kohyaModuleName(sd[0])).toBe('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q');
    expect(kohyaModuleName(sd[3])).toBe('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0');
    expect(kohyaModuleName(sd[128])).toBe('lora_te_text_model_encoder_layers_0_self_attn_q_proj');
    expect(peftModuleName(sd[3])).toBe('unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0');
    expect(peftModuleName(sd[128])).toBe('text_encoder.text_model.encoder.layers.0.self_attn.q_proj');
    expect(new Set(sd.map(kohyaModuleName)).size).toBe(176); // the underscore form stays unambiguous
  });
});

describe('LoRA export → import', () => {
  const ref = products(slots);

  for (const format of ['kohya', 'peft'] as const) {
    it(`${format}: the imported slots give the LiDB's down·up (max abs diff ≤ 1e-5)`, () => {
      const bytes = lidbToLoraFile(lidb, aux, SMALL_LAYERS, format);
      const file = readSafetensors(bytes);
      const l = SMALL_LAYERS[1];
      const [downKey, upKey] = format === 'kohya'
        ? [`${kohyaModuleName(l)}.lora_down.weight`, `${kohyaModuleName(l)}.lora_up.weight`]
        : [`${peftModuleName(l)}.lora_A.weight`, `${peftModuleName(l)}.lora_B.weight`];
      expect(file.tensors.get(downKey)!.shape).toEqual([2, l.nIn]);
      expect(file.tensors.get(upKey)!.shape).toEqual([l.nOut, 2]);
      if (format === 'kohya') {
        expect(Array.from(toFloat32(file.tensors.get(`${kohyaModuleName(l)}.alpha`)!))).toEqual([2]);
        expect(file.metadata.ss_network_dim).toBe('2');
      }
      const imp = importLora(bytes, SMALL_LAYERS);
      expect(imp.format).toBe(format);
      expect(imp.applied).toEqual(SMALL_LAYERS.map((x) => x.name));
      expect(imp.warnings).toEqual([]);
      const got = products(imp.slots);
      for (const [name, w] of ref) expect(maxAbsDiff(got.get(name)!, w)).toBeLessThanOrEqual(1e-5);
      for (const [name, s] of slots) {
        expect(maxAbsDiff(imp.slots.get(name)!.down, s.down)).toBe(0);
        expect(maxAbsDiff(imp.slots.get(name)!.up, s.up)).toBe(0);
      }
    });
  }

  it('fp16 export stays within half precision of the product', () => {
    const imp = importLora(lidbToLoraFile(lidb, aux, SMALL_LAYERS, 'kohya', { dtype: 'F16' }), SMALL_LAYERS);
    for (const [name, w] of ref) expect(maxAbsDiff(products(imp.slots).get(name)!, w)).toBeLessThan(2e-3 * (maxAbs(w) + 1e-3));
  });

  it('applies kohya alpha/r and the strength, and PEFT lora_alpha', () => {
    const l = SMALL_LAYERS[0];
    const r = 4;
    const down = randomArray(r * l.nIn, rng);
    const up = randomArray(l.nOut * r, rng);
    const k = kohyaModuleName(l);
    const bytes = writeSafetensors([
      { name: `${k}.lora_down.weight`, dtype: 'F32', shape: [r, l.nIn], bytes: f32(down) },
      { name: `${k}.lora_up.weight`, dtype: 'F32', shape: [l.nOut, r], bytes: f32(up) },
      { name: `${k}.alpha`, dtype: 'F16', shape: [], bytes: encodeFloats([1], 'F16') },
    ]);
    // ΔW (ONNX orientation) = scale · downᵀ·upᵀ = scale · (up·down)ᵀ
    const upDown = matmul64(up, down, l.nOut, r, l.nIn);
    const expected = (scale: number) => Float64Array.from({ length: l.nIn * l.nOut }, (_, idx) => {
      const i = Math.floor(idx / l.nOut);
      const j = idx % l.nOut;
      return scale * upDown[j * l.nIn + i];
    });
    const imp = importLora(bytes, SMALL_LAYERS, { strength: 0.5 });
    expect(maxAbsDiff(products(imp.slots).get(l.name)!, expected(0.5 / r))).toBeLessThan(1e-5);
    expect(imp.slots.size).toBe(1); // partial LoRAs are fine
    const full = completeSlots(SMALL_LAYERS, imp.slots);
    expect(full.size).toBe(SMALL_LAYERS.length);
    expect(maxAbs(full.get(SMALL_LAYERS[1].name)!.down)).toBe(0);

    const p = peftModuleName(l);
    const peft = writeSafetensors([
      { name: `${p}.lora_A.weight`, dtype: 'F32', shape: [r, l.nIn], bytes: f32(down) },
      { name: `${p}.lora_B.weight`, dtype: 'F32', shape: [l.nOut, r], bytes: f32(up) },
    ]);
    expect(maxAbsDiff(products(importLora(peft, SMALL_LAYERS).slots).get(l.name)!, expected(1))).toBeLessThan(1e-5);
    expect(maxAbsDiff(products(importLora(peft, SMALL_LAYERS, { peftAlpha: 8 }).slots).get(l.name)!, expected(2))).toBeLessThan(1e-5);
  });

  it('pads slots to a common rank without changing the product', () => {
    const l = SMALL_LAYERS[0];
    const s = slots.get(l.name)!;
    const p = padSlotRank(s, l, 5);
    expect(p.rank).toBe(5);
    expect(maxAbsDiff(matmul64(p.down, p.up, l.nIn, 5, l.nOut), matmul64(s.down, s.up, l.nIn, 2, l.nOut))).toBe(0);
    const all = completeSlots(SMALL_LAYERS, new Map([[l.name, s]]), 5);
    expect([...all.values()].every((x) => x.rank === 5)).toBe(true);
  });
});

describe('LoRA import errors and warnings', () => {
  const l = SMALL_LAYERS[1]; // 24 → 32
  const k = kohyaModuleName(l);
  const pair = (downShape: number[], upShape: number[], key = k): TensorToWrite[] => [
    { name: `${key}.lora_down.weight`, dtype: 'F32', shape: downShape, bytes: f32(new Float32Array(downShape.reduce((a, b) => a * b, 1)).fill(0.1)) },
    { name: `${key}.lora_up.weight`, dtype: 'F32', shape: upShape, bytes: f32(new Float32Array(upShape.reduce((a, b) => a * b, 1)).fill(0.1)) },
  ];

  it('ignores modules it has no slot for, with a warning, and applies the rest', () => {
    const bytes = writeSafetensors([
      ...pair([2, 24], [32, 2]),
      ...pair([2, 32, 1, 1], [32, 2, 1, 1], 'lora_unet_down_blocks_0_attentions_0_proj_in'),
      ...pair([2, 32, 3, 3], [64, 2, 1, 1], 'lora_unet_down_blocks_0_resnets_0_conv1'),
      ...pair([2, 32], [128, 2], 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_ff_net_0_proj'),
      { name: `${k}.hada_w1_a`, dtype: 'F32', shape: [1], bytes: f32([1]) },
    ]);
    const imp = importLora(bytes, SMALL_LAYERS);
    expect(imp.applied).toEqual([l.name]);
    expect(imp.ignored.sort()).toEqual([
      'lora_unet_down_blocks_0_attentions_0_proj_in',
      'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_ff_net_0_proj',
      'lora_unet_down_blocks_0_resnets_0_conv1',
    ]);
    expect(imp.warnings.join('\n')).toMatch(/3 LoRA modules this model has no slot for/);
    expect(imp.warnings.join('\n')).toMatch(/hada_w1_a/);
  });

  it('refuses a LoRA for another model, inconsistent ranks and broken values', () => {
    // SDXL-width cross-attention: to_k reads 2048-wide text
    expect(codeOf(() => importLora(writeSafetensors(pair([2, 2048], [32, 2])), SMALL_LAYERS))).toBe('shape-mismatch');
    expect(codeOf(() => importLora(writeSafetensors(pair([2, 24], [64, 2])), SMALL_LAYERS))).toBe('shape-mismatch');
    // SDXL naming (LDM block names, two text encoders)
    const sdxl = writeSafetensors([
      ...pair([2, 24], [32, 2], 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q'),
      ...pair([2, 24], [32, 2], 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj'),
    ]);
    expect(codeOf(() => importLora(sdxl, SMALL_LAYERS))).toBe('unknown-layer');
    expect(() => importLora(sdxl, SMALL_LAYERS)).toThrow(/SDXL/);
    expect(codeOf(() => importLora(writeSafetensors(pair([2, 24], [32, 3])), SMALL_LAYERS))).toBe('rank-mismatch');
    expect(codeOf(() => importLora(writeSafetensors(pair([2, 24], [32, 2]).slice(0, 1)), SMALL_LAYERS))).toBe('missing-tensor');
    const nan = pair([2, 24], [32, 2]);
    nan[1].bytes = f32(new Float32Array(64).fill(Infinity));
    expect(codeOf(() => importLora(writeSafetensors(nan), SMALL_LAYERS))).toBe('non-finite');
    const ints = pair([2, 24], [32, 2]);
    ints[0] = { ...ints[0], dtype: 'I32' };
    expect(codeOf(() => importLora(writeSafetensors(ints), SMALL_LAYERS))).toBe('bad-dtype');
    const both = writeSafetensors([...pair([2, 24], [32, 2]), ...[
      { name: `${peftModuleName(l)}.lora_A.weight`, dtype: 'F32' as const, shape: [1, 24], bytes: f32(new Float32Array(24)) },
    ]]);
    expect(codeOf(() => importLora(both, SMALL_LAYERS))).toBe('duplicate-layer');
    expect(codeOf(() => importLora(writeSafetensors([{ name: 'model.weight', dtype: 'F32', shape: [1], bytes: f32([1]) }]), SMALL_LAYERS))).toBe('no-known-layers');
    const lidbFile = writeLidbFile(lidb, { packId: 'tiny', auxSha256: AUX_SHA, trigger: 'sks', fineTune: {}, seed: 1 });
    expect(() => importLora(lidbFile, SMALL_LAYERS)).toThrow(/LiDB file/);
    expect(codeOf(() => importLora(new Uint8Array(3), SMALL_LAYERS))).toBe('truncated');
  });

  it('export refuses slots of the wrong size', () => {
    const bad: LoraSlots = new Map([[l.name, { rank: 2, down: new Float32Array(3), up: new Float32Array(64) }]]);
    expect(() => exportLora(bad, SMALL_LAYERS, 'kohya')).toThrow(RangeError);
  });
});
