// insertLoraSlots on real torch.onnx exports (the autodiff fixtures): the diffusers Transformer2D
// block and the transformers CLIP layers get the right layer names and sizes, zero slots change
// nothing, and a non-zero slot equals folding down·up into the weight.
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, makeTensorProto, readTensorProto, type ModelProto } from '../../../src/onnx';
import { insertLoraSlots, modulePathOfNode } from '../../../src/onnx/lora';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import type { Tensor } from '../../../src/runtime/types';
import { loadGradFixture } from '../autodiff/torchFixtures';

const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: 1 });

async function run(model: ModelProto, feeds: Record<string, Tensor>, output: string): Promise<Float32Array> {
  const s = await runtime.createSession({ name: 'lora test', model: encodeModel(model) });
  try {
    return (await s.run(feeds, [output]))[output].data as Float32Array;
  } finally {
    await s.release();
  }
}

function random(n: number, seed: number, scale = 0.3): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('modulePathOfNode', () => {
  it('turns torch.onnx node scopes into diffusers module paths', () => {
    expect(modulePathOfNode('/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul'))
      .toBe('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q');
    expect(modulePathOfNode('/attn2/to_out.0/MatMul')).toBe('attn2.to_out.0');
    expect(modulePathOfNode('MatMul_3')).toBeNull();
  });
});

describe('insertLoraSlots', () => {
  const fx = loadGradFixture('transformer2d_block.opset17');
  const original = decodeModel(fx.modelBytes);
  const { model, layers } = insertLoraSlots(original);

  it('finds every attention projection of a diffusers Transformer2D block by its module path', () => {
    const p = 'transformer_blocks.0';
    expect(layers.map((l) => l.name)).toEqual([
      `${p}.attn1.to_q`, `${p}.attn1.to_k`, `${p}.attn1.to_v`, `${p}.attn1.to_out.0`,
      `${p}.attn2.to_q`, `${p}.attn2.to_k`, `${p}.attn2.to_v`, `${p}.attn2.to_out.0`,
    ]);
    // cross-attention k/v read the 12-wide text context; everything else is 16 wide
    const sizes = Object.fromEntries(layers.map((l) => [l.name, [l.nIn, l.nOut]]));
    expect(sizes[`${p}.attn2.to_k`]).toEqual([12, 16]);
    expect(sizes[`${p}.attn1.to_out.0`]).toEqual([16, 16]);
    expect(layers.every((l) => l.target === 'unet')).toBe(true);
    // the feed-forward MatMuls are not attention projections
    expect(layers.some((l) => l.name.includes('ff'))).toBe(false);
    const inputs = (model.graph?.input ?? []).map((i) => i.name);
    expect(inputs).toContain(`lora.${p}.attn2.to_k.down`);
    expect(inputs).toContain(`lora.${p}.attn2.to_k.up`);
    // the caller's model is untouched
    expect((original.graph?.input ?? []).some((i) => i.name?.startsWith('lora.'))).toBe(false);
  });

  it('with zero slots reproduces the original output exactly', async () => {
    const base = await run(original, fx.inputs, 'out');
    const feeds: Record<string, Tensor> = { ...fx.inputs };
    for (const l of layers) {
      feeds[`lora.${l.name}.down`] = { type: 'float32', dims: [l.nIn, 4], data: new Float32Array(l.nIn * 4) };
      feeds[`lora.${l.name}.up`] = { type: 'float32', dims: [4, l.nOut], data: new Float32Array(4 * l.nOut) };
    }
    const withSlots = await run(model, feeds, 'out');
    expect(maxAbsDiff(withSlots, base)).toBe(0);
  });

  it('adds x·down·up: the same as folding down·up into the weight, at any rank', async () => {
    for (const rank of [1, 3]) {
      const feeds: Record<string, Tensor> = { ...fx.inputs };
      const folded = decodeModel(fx.modelBytes);
      layers.forEach((l, k) => {
        const down = random(l.nIn * rank, 11 + k + rank);
        const up = random(rank * l.nOut, 101 + k + rank);
        feeds[`lora.${l.name}.down`] = { type: 'float32', dims: [l.nIn, rank], data: down };
        feeds[`lora.${l.name}.up`] = { type: 'float32', dims: [rank, l.nOut], data: up };
        const node = folded.graph!.node!.find((n) => n.opType === 'MatMul' && modulePathOfNode(n.name ?? '') === l.name);
        expect(node, l.name).toBeDefined();
        const inits = folded.graph!.initializer!;
        const at = inits.findIndex((t) => t.name === node!.input![1]);
        const w = readTensorProto(inits[at]).data as Float32Array;
        const sum = Float32Array.from(w);
        for (let i = 0; i < l.nIn; i++) {
          for (let j = 0; j < l.nOut; j++) {
            let s = 0;
            for (let r = 0; r < rank; r++) s += down[i * rank + r] * up[r * l.nOut + j];
            sum[i * l.nOut + j] += s;
          }
        }
        inits[at] = makeTensorProto(inits[at].name!, { dtype: 'float32', dims: [l.nIn, l.nOut], data: sum });
      });
      const viaSlots = await run(model, feeds, 'out');
      const viaWeights = await run(folded, fx.inputs, 'out');
      const base = await run(original, fx.inputs, 'out');
      expect(maxAbsDiff(viaSlots, base), 'the slots change the output').toBeGreaterThan(1e-2);
      expect(maxAbsDiff(viaSlots, viaWeights)).toBeLessThan(1e-4);
    }
  });

  it('names CLIP layers by their transformers module path, target text_encoder', () => {
    const clip = insertLoraSlots(decodeModel(loadGradFixture('clip_text_tiny.opset14').modelBytes));
    const p = 'text_model.encoder.layers.0.self_attn';
    expect(clip.layers.map((l) => l.name).sort()).toEqual([`${p}.k_proj`, `${p}.out_proj`, `${p}.q_proj`, `${p}.v_proj`]);
    expect(clip.layers.every((l) => l.target === 'text_encoder' && l.nIn === 16 && l.nOut === 16)).toBe(true);
  });

  it('takes a custom match (ViT query/key/value) and refuses to add slots twice', () => {
    const vit = decodeModel(loadGradFixture('vit_embed_layer.opset17').modelBytes);
    expect(insertLoraSlots(vit).layers).toEqual([]);
    const custom = insertLoraSlots(vit, { match: /attention\.attention\.(query|key|value)$/, target: 'unet' });
    expect(custom.layers.map((l) => l.name)).toEqual([
      'encoder.layer.0.attention.attention.query', 'encoder.layer.0.attention.attention.key', 'encoder.layer.0.attention.attention.value',
    ]);
    expect(() => insertLoraSlots(model)).toThrow(/already has LoRA inputs for transformer_blocks\.0\.attn1\.to_q/);
  });
});
