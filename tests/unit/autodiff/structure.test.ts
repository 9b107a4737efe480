// Activity analysis, broadcast reductions, recompute, errors and the training graph.
import { describe, expect, it } from 'vitest';
import { buildGradientModel, buildTrainingModel, UnknownNameError, UnsupportedOpError } from '../../../src/autodiff';
import { encodeModel, float, type ModelProto, type NodeProto } from '../../../src/onnx';
import { Net, checkGradient, randn, rng, runtime, type HostValue } from './fdHarness';
import type { Tensor } from '../../../src/runtime/types';

const D = 'float64' as const;

function backwardNodes(forward: ModelProto, grad: ModelProto): NodeProto[] {
  return grad.graph!.node!.slice(forward.graph!.node!.length);
}

async function run(model: ModelProto, feeds: Record<string, HostValue>): Promise<Record<string, Tensor>> {
  const s = await runtime.createSession({ name: 'run', model: encodeModel(model) });
  try {
    return await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { type: v.dtype as Tensor['type'], dims: v.dims, data: v.data }])));
  } finally {
    await s.release();
  }
}

/** A two-layer pre-LN transformer encoder in double precision, with torch-style node names. */
function tinyEncoder(r: () => number, layers = 2) {
  const n = new Net(D);
  const { b } = n;
  const T = 3, C = 4;
  let h = n.input('x', randn(r, D, [1, T, C]));
  const slots: string[] = [];
  b.scope('encoder', () => {
    for (let l = 0; l < layers; l++) {
      b.scope(`layers.${l}`, () => {
        const ln = b.op1('LayerNormalization', [h, n.c(Array(C).fill(1), [C]), n.c(Array(C).fill(0), [C])], { axis: -1 });
        const proj = (name: string) => b.scope(name, () => {
          const w = b.param('weight', randn(r, D, [C, C], { scale: 0.5 }).data, [C, C]);
          const down = `lora.${b.modulePath}.down`;
          const up = `lora.${b.modulePath}.up`;
          n.input(down, randn(r, D, [C, 2], { scale: 0.3 }));
          n.input(up, randn(r, D, [2, C], { scale: 0.3 }));
          slots.push(down, up);
          return b.op1('Add', [b.op1('MatMul', [ln, w]), b.op1('MatMul', [b.op1('MatMul', [ln, down]), up])]);
        });
        const q = proj('q_proj'), k = proj('k_proj'), v = proj('v_proj');
        const scores = b.op1('Mul', [b.op1('MatMul', [q, b.op1('Transpose', [k], { perm: [0, 2, 1] })]), n.c(0.5)]);
        const attn = b.op1('MatMul', [b.op1('Softmax', [scores], { axis: -1 }), v]);
        h = b.op1('Add', [h, attn]);
        // (not x·sigmoid(1.702x): ORT fuses that into a float-only contrib QuickGelu)
        const mlp = b.op1('Mul', [h, b.op1('Tanh', [b.op1('Mul', [h, n.c(0.8)])])]);
        h = b.op1('Add', [h, mlp]);
      });
    }
  });
  return { n, y: h, slots, dims: [1, T, C] };
}

describe('activity analysis', () => {
  it('an inactive branch and shape arithmetic get no backward nodes; integer values are never active', () => {
    const r = rng(1);
    const n = new Net(D);
    const { b } = n;
    const x = n.input('x', randn(r, D, [2, 3]));
    const w = n.input('w', randn(r, D, [3, 3]));
    const other = n.input('other', randn(r, D, [2, 3]));
    const inactive = b.op1('Exp', [b.op1('Tanh', [other])], {}, { name: 'InactiveExp' });
    // run-time shape: Shape → Gather → Unsqueeze → Concat → Reshape
    const batch = b.op1('Unsqueeze', [b.op1('Gather', [b.op1('Shape', [x]), b.constant(new BigInt64Array([0n]), [])]), b.ints([0])]);
    const shape = b.op1('Concat', [batch, b.ints([-1])], { axis: 0 });
    const h = b.op1('Reshape', [b.op1('MatMul', [x, w]), shape]);
    const y = b.op1('Add', [h, inactive]);
    const model = n.model(y, [2, 3]);
    const grad = buildGradientModel(model, { of: ['y'], wrt: ['w'] });
    const names = backwardNodes(model, grad).map((nd) => nd.name!);
    expect(names.some((nm) => nm.includes('InactiveExp') || nm.includes('Tanh'))).toBe(false);
    for (const shapeOp of ['/Shape', '/Gather', '/Unsqueeze', '/Concat']) expect(names.some((nm) => nm.startsWith(`${shapeOp}_grad`))).toBe(false);
    // MatMul's input x is not differentiated either: only its weight gradient is built
    const matmulGrad = backwardNodes(model, grad).filter((nd) => nd.name!.startsWith('/MatMul_grad'));
    expect(matmulGrad.length).toBeGreaterThan(0);
    expect(grad.graph!.output!.map((o) => o.name)).toEqual(['y', 'w_grad']);
    expect(grad.graph!.input!.map((i) => i.name)).toEqual(['x', 'w', 'other', 'y_grad']);
  });

  it('static shapes that prove no broadcast skip the reduction; symbolic ones reduce at run time', () => {
    const r = rng(2);
    const opsFor = (sym: boolean, bShape: number[]) => {
      const n = new Net(D, sym);
      const a = n.input('a', randn(r, D, [2, 3]));
      const bb = n.input('b', randn(r, D, bShape));
      const model = n.model(n.b.op1('Add', [a, bb]), [2, 3]);
      return backwardNodes(model, buildGradientModel(model, { of: ['y'], wrt: ['a', 'b'] })).map((nd) => nd.opType);
    };
    // (a's gradient is the seed input itself, copied to the output by an Identity)
    expect(opsFor(false, [2, 3])).toEqual(['Identity', 'Identity']);
    expect(opsFor(false, [3])).toEqual(['ReduceSum', 'Identity']);
    expect(opsFor(false, [2, 1])).toEqual(['ReduceSum', 'Identity']);
    expect(opsFor(true, [3])).toContain('Shape');
  });

  it('a value used by several nodes accumulates its gradient contributions', async () => {
    const r = rng(3);
    const n = new Net(D);
    const x = n.input('x', randn(r, D, [2, 3]));
    const y = n.b.op1('Add', [n.b.op1('Mul', [x, x]), n.b.op1('Tanh', [x])]);
    await checkGradient(n.model(y, [2, 3]), n.feeds, { wrt: ['x'] });
  });

  it('two names sharing one gradient value each get their output', async () => {
    const r = rng(18);
    const n = new Net(D);
    const a = n.input('a', randn(r, D, [2, 3]));
    const b2 = n.input('b', randn(r, D, [2, 3]));
    const c = n.input('c', randn(r, D, [2, 3]));
    const y = n.b.op1('Mul', [n.b.op1('Add', [a, b2]), c]);
    const res = await checkGradient(n.model(y, [2, 3]), n.feeds, { wrt: ['a', 'b', 'c'] });
    expect(res.gradModel.graph!.output!.map((o) => o.name)).toEqual(['y', 'a_grad', 'b_grad', 'c_grad']);
  });

  it('several outputs differentiated at once get one seed input each', async () => {
    const r = rng(4);
    const n = new Net(D);
    const x = n.input('x', randn(r, D, [3]));
    const { b } = n;
    b.output(b.op1('Exp', [x]), 'e', D, [3]);
    b.output(b.op1('Mul', [x, x]), 'sq', D, [3]);
    const model = b.toModel({ opset: 17 });
    const grad = buildGradientModel(model, { of: ['e', 'sq'], wrt: ['x'] });
    const xs = Array.from(n.feeds.x.data as Float64Array);
    const out = await run(grad, { ...n.feeds, e_grad: { dtype: D, dims: [3], data: Float64Array.from([1, 2, 3]) }, sq_grad: { dtype: D, dims: [3], data: Float64Array.from([1, 1, 1]) } });
    const expected = xs.map((v, i) => Math.exp(v) * (i + 1) + 2 * v);
    Array.from(out.x_grad.data as Float64Array).forEach((g, i) => expect(g).toBeCloseTo(expected[i], 12));
  });
});

describe('bad input', () => {
  it('an unsupported op on the active path names the op, the node and the input', () => {
    const r = rng(5);
    const n = new Net(D);
    const x = n.input('x', randn(r, D, [2, 3]));
    const h = n.b.op1('Tanh', [x]);
    const y = n.b.op1('Exp', [n.b.op1('Floor', [h], {}, { name: 'MyFloor' })]);
    const model = n.model(y, [2, 3]);
    let err: unknown;
    try { buildGradientModel(model, { of: ['y'], wrt: ['x'] }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnsupportedOpError);
    const u = err as UnsupportedOpError;
    expect([u.opType, u.nodeName, u.input]).toEqual(['Floor', '/MyFloor', h]);
    expect(u.message).toMatch(/Floor.*\/MyFloor.*Tanh/);
  });

  it('an unsupported op off the active path is fine', () => {
    const r = rng(6);
    const n = new Net(D);
    const x = n.input('x', randn(r, D, [2, 3]));
    const c = n.input('c', randn(r, D, [2, 3]));
    const y = n.b.op1('Add', [n.b.op1('Tanh', [x]), n.b.op1('Floor', [c])]);
    expect(() => buildGradientModel(n.model(y, [2, 3]), { of: ['y'], wrt: ['x'] })).not.toThrow();
  });

  it('a contrib op on the active path is rejected by its domain', () => {
    const r = rng(7);
    const n = new Net(D);
    const x = n.input('x', randn(r, D, [2, 3]));
    const y = n.b.op1('Gelu', [x], {}, { domain: 'com.microsoft', name: 'FastGelu' });
    expect(() => buildGradientModel(n.model(y, [2, 3]), { of: ['y'], wrt: ['x'] })).toThrow(/com\.microsoft\.Gelu.*FastGelu/);
  });

  it('an unknown wrt name lists the closest names', () => {
    const { n, y, dims } = tinyEncoder(rng(8), 1);
    const model = n.model(y, dims);
    let err: unknown;
    try { buildGradientModel(model, { of: ['y'], wrt: ['lora.encoder.layers.0.q_proj.dwn'] }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnknownNameError);
    expect((err as UnknownNameError).suggestions[0]).toBe('lora.encoder.layers.0.q_proj.down');
    expect(() => buildGradientModel(model, { of: ['why'], wrt: ['x'] })).toThrow(/unknown output 'why'.*'y'/);
  });

  it('a computed value as wrt, an integer wrt, or an empty list is an error', () => {
    const n = new Net(D);
    const x = n.input('x', randn(rng(9), D, [2]));
    n.input('i', { dtype: 'int64', dims: [2], data: new BigInt64Array([1n, 2n]) });
    const h = n.b.op1('Tanh', [x]);
    const model = n.model(n.b.op1('Add', [h, n.b.op1('Cast', ['i'], { to: 11 })]), [2]);
    expect(() => buildGradientModel(model, { of: ['y'], wrt: [h] })).toThrow(/computed by the graph/);
    expect(() => buildGradientModel(model, { of: ['y'], wrt: ['i'] })).toThrow(/int64/);
    expect(() => buildGradientModel(model, { of: ['y'], wrt: [] })).toThrow(/wrt is empty/);
  });

  it('a wrt name with no path to the output gets a zero gradient and a warning', async () => {
    const r = rng(10);
    const n = new Net(D);
    const x = n.input('x', randn(r, D, [2, 3]));
    n.input('unused', randn(r, D, [4, 1]));
    const model = n.model(n.b.op1('Tanh', [x]), [2, 3]);
    const warnings: string[] = [];
    const grad = buildGradientModel(model, { of: ['y'], wrt: ['x', 'unused'], onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([`'unused' has no path to 'y': its gradient is zero`]);
    const out = await run(grad, { ...n.feeds, y_grad: randn(r, D, [2, 3]) });
    expect(out.unused_grad.dims).toEqual([4, 1]);
    expect(Array.from(out.unused_grad.data as Float64Array)).toEqual([0, 0, 0, 0]);
  });

  it('opsets before 13 are refused', () => {
    const n = new Net(D);
    const x = n.input('x', randn(rng(11), D, [2]));
    expect(() => buildGradientModel(n.model(n.b.op1('Tanh', [x]), [2], 12), { of: ['y'], wrt: ['x'] })).toThrow(/opset 12/);
  });
});

describe('recompute (gradient checkpointing)', () => {
  it('gives the same gradients with and without recompute, and backward reads clones', async () => {
    const { n, y, slots, dims } = tinyEncoder(rng(12));
    const model = n.model(y, dims);
    const feeds = { ...n.feeds, y_grad: randn(rng(13), D, dims) };
    const plain = buildGradientModel(model, { of: ['y'], wrt: ['x', ...slots] });
    const auto = buildGradientModel(model, { of: ['y'], wrt: ['x', ...slots], recompute: 'auto' });
    const layer0 = model.graph!.node!.filter((nd) => nd.name!.startsWith('/encoder/layers.0/')).map((nd) => nd.name!);
    const explicit = buildGradientModel(model, { of: ['y'], wrt: ['x', ...slots], recompute: [layer0] });
    const clones = (g: ModelProto) => backwardNodes(model, g).filter((nd) => nd.name!.endsWith('_recomputed'));
    expect(clones(plain)).toHaveLength(0);
    expect(clones(auto).length).toBeGreaterThan(10);
    expect(clones(explicit).length).toBeGreaterThan(5);
    expect(clones(explicit).every((nd) => nd.name!.startsWith('/encoder/layers.0/'))).toBe(true);
    // no backward node of layer 1's segment reads one of layer 1's internal forward activations
    const internal = new Set(model.graph!.node!.filter((nd) => nd.name!.startsWith('/encoder/layers.1/')).flatMap((nd) => nd.output!));
    const lastOut = model.graph!.node!.filter((nd) => nd.name!.startsWith('/encoder/layers.1/')).at(-1)!.output![0];
    const readers = backwardNodes(model, auto).filter((nd) => nd.name!.startsWith('/encoder/layers.1/') && !nd.name!.endsWith('_recomputed'));
    const leaked = readers.flatMap((nd) => nd.input!).filter((i) => internal.has(i) && i !== lastOut);
    expect(leaked).toEqual([]);
    const a = await run(plain, feeds), b = await run(auto, feeds), c = await run(explicit, feeds);
    for (const w of ['x', ...slots]) {
      const ref = Array.from(a[`${w}_grad`].data as Float64Array);
      for (const other of [b, c]) {
        const got = Array.from(other[`${w}_grad`].data as Float64Array);
        got.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(ref[i]))));
      }
    }
  });

  it('unknown node names in a segment are reported', () => {
    const { n, y, dims } = tinyEncoder(rng(14), 1);
    const model = n.model(y, dims);
    expect(() => buildGradientModel(model, { of: ['y'], wrt: ['x'], recompute: [['/encoder/layers.0/Softmx']] })).toThrow(/Softmax/);
  });
});

describe('training graph', () => {
  it('adds target and a scalar MSE loss seeded internally, and its gradients match finite differences', async () => {
    const { n, y, slots, dims } = tinyEncoder(rng(15), 1);
    const model = n.model(y, dims);
    const train = buildTrainingModel(model, { wrt: slots, prediction: 'y' });
    expect(train.graph!.input!.map((i) => i.name)).toContain('target');
    expect(train.graph!.output!.map((o) => o.name)).toEqual(['y', 'loss', ...slots.map((s) => `${s}_grad`)]);
    const target = randn(rng(16), D, dims);
    const feeds = { ...n.feeds, target };
    const out = await run(train, feeds);
    const pred = out.y.data as Float64Array;
    const mse = Array.from(pred).reduce((s, v, i) => s + (v - (target.data as Float64Array)[i]) ** 2, 0) / pred.length;
    expect(out.loss.dims).toEqual([]);
    expect((out.loss.data as Float64Array)[0]).toBeCloseTo(mse, 12);
    // finite differences of the loss w.r.t. one slot
    const w = slots[0];
    const base = n.feeds[w];
    const eps = 1e-6;
    for (let j = 0; j < base.data.length; j++) {
      const at = async (d: number) => {
        const data = Float64Array.from(base.data as Float64Array);
        data[j] += d;
        return ((await run(train, { ...feeds, [w]: { ...base, data } })).loss.data as Float64Array)[0];
      };
      const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      expect((out[`${w}_grad`].data as Float64Array)[j]).toBeCloseTo(fd, 7);
    }
  });

  it('refuses names that are taken and unknown losses', () => {
    const { n, y, slots, dims } = tinyEncoder(rng(17), 1);
    const model = n.model(y, dims);
    expect(() => buildTrainingModel(model, { wrt: slots, prediction: 'y', targetName: 'x' })).toThrow(/already has a value named 'x'/);
    expect(() => buildTrainingModel(model, { wrt: slots, prediction: 'nope' })).toThrow(/unknown prediction/);
    expect(() => buildTrainingModel(model, { wrt: slots, prediction: 'y', loss: 'l1' as 'mse' })).toThrow(/unknown loss/);
  });
});

void float;
