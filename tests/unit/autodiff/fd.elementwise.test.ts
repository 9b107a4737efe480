// Finite-difference checks: elementwise ops, broadcasting, normalizations, reductions.
import { describe, expect, it } from 'vitest';
import { float } from '../../../src/onnx';
import { Net, checkGradient, randn, rng } from './fdHarness';

type Case = [string, (r: () => number) => { net: Net; y: string; dims: number[]; wrt: string[]; opset?: number; eps?: number; tol?: number }];

const D = 'float64' as const;
/** set per test: declare every input/output dim as a symbol (exercises the run-time shape paths) */
let SYM = false;
const MODES = [['static shapes', false], ['symbolic shapes', true]] as const;


const F = 'float32' as const;

function unaryCase(op: string, opts: { positive?: boolean; away?: number; attrs?: Record<string, number | string>; dtype?: typeof D | typeof F } = {}): Case {
  return [op, (r) => {
    const dt = opts.dtype ?? D;
    const n = new Net(dt, SYM);
    const x = n.input('x', randn(r, dt, [2, 3, 4], opts));
    return { net: n, y: n.b.op1(op, [x], opts.attrs ?? {}), dims: [2, 3, 4], wrt: ['x'] };
  }];
}

function binaryCase(op: string, sa: number[], sb: number[], out: number[], opts: { positiveB?: boolean; positiveA?: boolean } = {}): Case {
  return [`${op} [${sa}] ∘ [${sb}]`, (r) => {
    const n = new Net(D, SYM);
    const a = n.input('a', randn(r, D, sa, { positive: opts.positiveA }));
    const b = n.input('b', randn(r, D, sb, { positive: opts.positiveB, away: 0.3 }));
    return { net: n, y: n.b.op1(op, [a, b]), dims: out, wrt: ['a', 'b'] };
  }];
}

const cases: Case[] = [
  unaryCase('Sqrt', { positive: true }),
  unaryCase('Exp'),
  unaryCase('Log', { positive: true }),
  unaryCase('Neg'),
  unaryCase('Reciprocal', { away: 0.3 }),
  unaryCase('Erf', { dtype: F }), // ORT's CPU Erf has no DOUBLE kernel
  unaryCase('Tanh'),
  unaryCase('Sin'),
  unaryCase('Cos'),
  unaryCase('Sigmoid'),
  unaryCase('Relu', { away: 0.1 }),
  unaryCase('Abs', { away: 0.1 }),
  unaryCase('LeakyRelu', { away: 0.1, attrs: { alpha: 0.2 } }),
  unaryCase('Softmax', { attrs: { axis: 1 } }),
  unaryCase('Softmax', { attrs: { axis: -1 } }),
  unaryCase('LogSoftmax', { attrs: { axis: 0 } }),
  binaryCase('Add', [2, 3, 4], [2, 3, 4], [2, 3, 4]),
  binaryCase('Add', [2, 3, 4], [4], [2, 3, 4]),
  binaryCase('Add', [2, 1, 4], [3, 1], [2, 3, 4]),
  binaryCase('Sub', [1, 3, 1], [2, 1, 4], [2, 3, 4]),
  binaryCase('Mul', [2, 3, 4], [3, 1], [2, 3, 4]),
  binaryCase('Mul', [], [2, 3], [2, 3]),
  binaryCase('Div', [2, 3, 4], [2, 1, 4], [2, 3, 4]),
  binaryCase('Pow', [2, 3], [2, 3], [2, 3], { positiveA: true }),
  binaryCase('Max', [2, 3, 4], [3, 4], [2, 3, 4]),
  binaryCase('Min', [2, 1, 4], [2, 3, 1], [2, 3, 4]),
  ['Pow constant exponent 2, 3, 0.5, -1.5', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [3, 4], { positive: true }));
    const p = (v: number) => n.b.op1('Pow', [x, n.c(v)]);
    const y = n.b.op1('Add', [n.b.op1('Add', [p(2), p(3)]), n.b.op1('Add', [p(0.5), p(-1.5)])]);
    return { net: n, y, dims: [3, 4], wrt: ['x'] };
  }],
  ['Sum and Mean (variadic, broadcast; float32: no DOUBLE Mean kernel)', (r) => {
    const n = new Net(F, SYM);
    const a = n.input('a', randn(r, F, [2, 3]));
    const b = n.input('b', randn(r, F, [3]));
    const c = n.input('c', randn(r, F, [2, 1]));
    const y = n.b.op1('Add', [n.b.op1('Sum', [a, b, c]), n.b.op1('Mean', [a, b, c])]);
    return { net: n, y, dims: [2, 3], wrt: ['a', 'b', 'c'] };
  }],
  ['Where (both branches, broadcast)', (r) => {
    const n = new Net(D, SYM);
    const a = n.input('a', randn(r, D, [2, 3]));
    const b = n.input('b', randn(r, D, [3]));
    const cond = n.b.op1('Greater', [n.b.op1('Mul', [a, a]), n.c(0.5)]);
    return { net: n, y: n.b.op1('Where', [cond, a, b]), dims: [2, 3], wrt: ['a', 'b'] };
  }],
  ['Clip with min and max inputs', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [3, 5], { scale: 2 }));
    // keep values away from the bounds so ±eps does not cross them
    return { net: n, y: n.b.op1('Clip', [x, n.c(-0.7), n.c(0.9)]), dims: [3, 5], wrt: ['x'] };
  }],
  ['Cast float64 → float32 → float64 chain', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3]));
    const y = n.b.op1('Cast', [n.b.op1('Cast', [n.b.op1('Mul', [x, x])], { to: 1 })], { to: 11 });
    // x² is exact under central differences; the float32 detour only adds rounding
    return { net: n, y, dims: [2, 3], wrt: ['x'], eps: 1e-2, tol: 1e-4 };
  }],
  ['Identity and Dropout (inference)', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3]));
    const y = n.b.op1('Dropout', [n.b.op1('Identity', [n.b.op1('Tanh', [x])])]);
    return { net: n, y, dims: [2, 3], wrt: ['x'] };
  }],
  ['LayerNormalization axis -1 with scale and bias', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3, 5]));
    const g = n.input('g', randn(r, D, [5]));
    const bb = n.input('bb', randn(r, D, [5]));
    return { net: n, y: n.b.op1('LayerNormalization', [x, g, bb], { axis: -1, epsilon: float(1e-5) }), dims: [2, 3, 5], wrt: ['x', 'g', 'bb'] };
  }],
  ['LayerNormalization axis 1 without bias', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3, 4]));
    const g = n.input('g', randn(r, D, [3, 4]));
    return { net: n, y: n.b.op1('LayerNormalization', [x, g], { axis: 1 }), dims: [2, 3, 4], wrt: ['x', 'g'] };
  }],
  ['LayerNorm as the opset-14 export writes it (ReduceMean/Sub/Pow/Sqrt/Div)', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 6]));
    const { b } = n;
    const mean = b.op1('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const d = b.op1('Sub', [x, mean]);
    const v = b.op1('ReduceMean', [b.op1('Pow', [d, n.c(2)])], { axes: [-1], keepdims: 1 });
    const y = b.op1('Div', [d, b.op1('Sqrt', [b.op1('Add', [v, n.c(1e-5)])])]);
    return { net: n, y, dims: [2, 6], wrt: ['x'], opset: 14 };
  }],
  ['Gelu exact (opset 20; float32: its gradient uses Erf)', (r) => {
    const n = new Net(F, SYM);
    const x = n.input('x', randn(r, F, [3, 4], { scale: 2 }));
    return { net: n, y: n.b.op1('Gelu', [x]), dims: [3, 4], wrt: ['x'], opset: 20 };
  }],
  ['Gelu tanh (opset 20)', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [3, 4], { scale: 2 }));
    return { net: n, y: n.b.op1('Gelu', [x], { approximate: 'tanh' }), dims: [3, 4], wrt: ['x'], opset: 20 };
  }],
];

function reduceCases(): Case[] {
  const out: Case[] = [];
  for (const op of ['ReduceSum', 'ReduceMean']) {
    for (const opset of [14, 18]) {
      for (const keep of [0, 1]) {
        out.push([`${op} opset ${opset} keepdims ${keep} axes [0, -1]`, (r) => {
          const n = new Net(D, SYM);
          const x = n.input('x', randn(r, D, [2, 3, 4]));
          const axesAsInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
          const y = axesAsInput ? n.b.op1(op, [x, n.b.ints([0, -1])], { keepdims: keep }) : n.b.op1(op, [x], { axes: [0, -1], keepdims: keep });
          return { net: n, y, dims: keep ? [1, 3, 1] : [3], wrt: ['x'], opset };
        }]);
      }
    }
    out.push([`${op} over every axis`, (r) => {
      const n = new Net(D, SYM);
      const x = n.input('x', randn(r, D, [2, 3]));
      return { net: n, y: n.b.op1(op, [x], { keepdims: 0 }), dims: [], wrt: ['x'], opset: 18 };
    }]);
    out.push([`${op} with run-time axes (a graph input), keepdims 0`, (r) => {
      const n = new Net(D, SYM);
      const x = n.input('x', randn(r, D, [2, 3, 4]));
      const axes = n.input('axes', { dtype: 'int64', dims: [2], data: BigInt64Array.from([-1n, 0n]) });
      return { net: n, y: n.b.op1(op, [x, axes], { keepdims: 0 }), dims: [3], wrt: ['x'], opset: 18 };
    }]);
    out.push([`${op} noop_with_empty_axes`, (r) => {
      const n = new Net(D, SYM);
      const x = n.input('x', randn(r, D, [2, 3]));
      return { net: n, y: n.b.op1(op, [x], { keepdims: 0, noop_with_empty_axes: 1 }), dims: [2, 3], wrt: ['x'], opset: 18 };
    }]);
  }
  return out;
}

describe.each(MODES)('finite differences: elementwise, normalization, reduction (%s)', (_mode, sym) => {
  it.each([...cases, ...reduceCases()])('%s', async (_name, make) => {
    SYM = sym;
    const c = make(rng(_name.length * 7919 + 13));
    const model = c.net.model(c.y, c.dims, c.opset ?? 17);
    const res = await checkGradient(model, c.net.feeds, { wrt: c.wrt, eps: c.eps, tol: c.tol });
    expect(res.backwardOps.length).toBeGreaterThan(0);
  });
});
