// Attention split over query blocks: the same outputs and gradients as whole attention (and as
// PyTorch autograd, tests/fixtures/attention_chunks.json from tools/fixtures/make_attention_fixture.py),
// no score tensor with every query row, and recompute segments per block in the train graph.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { buildGradientModel } from '../../../src/autodiff';
import { inferShapes } from '../../../src/autodiff/shapes';
import { attentionCore, Net } from '../../../src/models/layers';
import { WeightInit } from '../../../src/models';
import { encodeModel, GraphBuilder, opsetVersion, type ModelProto } from '../../../src/onnx';
import { chunkAttention, chunkRecomputeSegments } from '../../../src/packer/attentionChunks';

interface Fixture {
  shapes: Record<'q' | 'k' | 'v' | 'mask', number[]>;
  heads: number;
  inputs: Record<'q' | 'k' | 'v' | 'mask' | 'g', number[]>;
  cases: Record<'plain' | 'masked', Record<'o' | 'dq' | 'dk' | 'dv', number[]>>;
}
const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../../fixtures/attention_chunks.json', import.meta.url)), 'utf8')) as Fixture;

/** attentionCore as the UNet and text encoder build it, over graph inputs q, k, v (and a mask). */
function attentionGraph(masked: boolean, opset = 17): ModelProto {
  const b = new GraphBuilder('attention');
  const n = new Net(b, new WeightInit(0), false);
  const width = fx.shapes.q[2];
  const q = b.input('q', 'float32', fx.shapes.q);
  const k = b.input('k', 'float32', fx.shapes.k);
  const v = b.input('v', 'float32', fx.shapes.v);
  const mask = masked ? b.input('mask', 'float32', fx.shapes.mask) : undefined;
  const o = n.scope('attn1', () => attentionCore(n, q, k, v, fx.heads, width / fx.heads, mask));
  b.output(o, 'o', 'float32', fx.shapes.q);
  return b.toModel({ opset });
}

async function run(model: ModelProto, feeds: Record<string, number[]>, fetch: string[]): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(Buffer.from(encodeModel(model)), { executionProviders: ['cpu'] });
  const names = new Set(session.inputNames);
  const shapes: Record<string, number[]> = { ...fx.shapes, g: fx.shapes.q, o_grad: fx.shapes.q };
  const input: Record<string, ort.Tensor> = {};
  for (const [k, data] of Object.entries(feeds)) if (names.has(k)) input[k] = new ort.Tensor('float32', Float32Array.from(data), shapes[k]);
  const out = await session.run(input, fetch);
  await session.release();
  return Object.fromEntries(fetch.map((f) => [f, out[f].data as Float32Array]));
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** 1·2 heads·10·12 float32 scores = 960 bytes; 330 makes 3 blocks of 3, 3 and 4 queries. */
const SPLIT = { maxScoreBytes: 330 };

describe('chunkAttention', () => {
  it('leaves attention whose scores fit the threshold as it is', () => {
    const model = attentionGraph(true);
    const r = chunkAttention(model, { maxScoreBytes: 960 });
    expect(r.chunked).toEqual([]);
    expect(r.model).toBe(model);
  });

  it.each([17, 11])('no score tensor holds every query row (opset %i)', (opset) => {
    const { model, chunked } = chunkAttention(attentionGraph(true, opset), SPLIT);
    expect(chunked).toEqual([{ name: '/attn1', wholeBytes: 960, blockBytes: 384, blocks: 3 }]);
    const t = inferShapes(model.graph!, opsetVersion(model));
    const softmaxRows = (model.graph!.node ?? []).filter((n) => n.opType === 'Softmax').map((n) => t.staticShape(n.input![0])![2]);
    expect(softmaxRows).toEqual([3, 3, 4]);
  });

  for (const masked of [false, true]) {
    const which = masked ? 'masked' : 'plain';
    it(`${which}: outputs and gradients equal whole attention and PyTorch within 1e-5`, async () => {
      const whole = attentionGraph(masked);
      const { model } = chunkAttention(whole, SPLIT);
      const feeds = { ...fx.inputs, o_grad: fx.inputs.g };
      const wrt = ['q', 'k', 'v'];
      const fetch = ['o', 'q_grad', 'k_grad', 'v_grad'];
      const ref = fx.cases[which];
      const wholeOut = await run(buildGradientModel(whole, { of: ['o'], wrt }), feeds, fetch);
      for (const recompute of [undefined, chunkRecomputeSegments(model)]) {
        const got = await run(buildGradientModel(model, { of: ['o'], wrt, ...(recompute ? { recompute } : {}) }), feeds, fetch);
        for (const f of fetch) expect(maxDiff(got[f], wholeOut[f]), `${f} vs whole`).toBeLessThan(1e-5);
        expect(maxDiff(got.o, ref.o)).toBeLessThan(1e-5);
        expect(maxDiff(got.q_grad, ref.dq)).toBeLessThan(1e-5);
        expect(maxDiff(got.k_grad, ref.dk)).toBeLessThan(1e-5);
        expect(maxDiff(got.v_grad, ref.dv)).toBeLessThan(1e-5);
      }
    });
  }

  it('recompute segments: one per block, holding its scores, softmax and product with v', () => {
    const { model } = chunkAttention(attentionGraph(true), SPLIT);
    const segs = chunkRecomputeSegments(model);
    expect(segs.length).toBe(3);
    const ops = new Map((model.graph!.node ?? []).map((n) => [n.name!, n.opType!]));
    for (const s of segs) expect(s.map((x) => ops.get(x))).toEqual(['MatMul', 'Mul', 'Add', 'Softmax', 'MatMul']);
    // the backward pass reads each block's probabilities from its own recomputation
    const grad = buildGradientModel(model, { of: ['o'], wrt: ['q', 'k', 'v'], recompute: segs });
    expect((grad.graph!.node ?? []).filter((n) => n.opType === 'Softmax' && /recomputed/.test(n.name ?? '')).length).toBe(3);
  });
});
