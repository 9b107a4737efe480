// Finite-difference checks: ops that move values (reshapes, slicing, gathers, concat/split, expand, tile, pad).
import { describe, it } from 'vitest';
import { Net, checkGradient, ints, randn, rng } from './fdHarness';

const D = 'float64' as const;
/** set per test: declare every input/output dim as a symbol (exercises the run-time shape paths) */
let SYM = false;
const MODES = [['static shapes', false], ['symbolic shapes', true]] as const;


type Built = { net: Net; y: string; dims: (number | string)[]; wrt: string[]; opset?: number };
type Case = [string, (r: () => number) => Built];

/** y = f(x)·w: a weight on the output makes every output element matter differently. */
const cases: Case[] = [
  ['Reshape with 0 and -1', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3, 4]));
    return { net: n, y: n.b.op1('Reshape', [n.b.op1('Tanh', [x]), n.b.ints([0, -1, 2])]), dims: [2, 6, 2], wrt: ['x'] };
  }],
  ['Reshape with a run-time shape (Shape → Gather → Concat)', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3, 4]));
    const { b } = n;
    const batch = b.op1('Unsqueeze', [b.op1('Gather', [b.op1('Shape', [x]), b.constant(new BigInt64Array([0n]), [])]), b.ints([0])]);
    const shape = b.op1('Concat', [batch, b.ints([12])], { axis: 0 });
    return { net: n, y: b.op1('Reshape', [x, shape]), dims: [2, 12], wrt: ['x'] };
  }],
  ['Transpose with perm', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3, 4]));
    return { net: n, y: n.b.op1('Transpose', [x], { perm: [2, 0, 1] }), dims: [4, 2, 3], wrt: ['x'] };
  }],
  ['Transpose default (reverse)', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3, 4]));
    return { net: n, y: n.b.op1('Transpose', [x]), dims: [4, 3, 2], wrt: ['x'] };
  }],
  ['Flatten axis 2', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3, 2, 2]));
    return { net: n, y: n.b.op1('Flatten', [x], { axis: 2 }), dims: [6, 4], wrt: ['x'] };
  }],
  ['Squeeze and Unsqueeze', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 1, 3]));
    const s = n.b.op1('Squeeze', [x, n.b.ints([1])]);
    return { net: n, y: n.b.op1('Unsqueeze', [n.b.op1('Tanh', [s]), n.b.ints([0, -1])]), dims: [1, 2, 3, 1], wrt: ['x'] };
  }],
  ['Concat of three on axis 1', (r) => {
    const n = new Net(D, SYM);
    const a = n.input('a', randn(r, D, [2, 1, 3]));
    const b = n.input('b', randn(r, D, [2, 2, 3]));
    const c = n.input('c', randn(r, D, [2, 3, 3]));
    return { net: n, y: n.b.op1('Concat', [a, n.b.op1('Exp', [b]), c], { axis: -2 }), dims: [2, 6, 3], wrt: ['a', 'b', 'c'] };
  }],
  ['Concat of the same value twice', (r) => {
    const n = new Net(D, SYM);
    const a = n.input('a', randn(r, D, [2, 3]));
    return { net: n, y: n.b.op1('Concat', [a, n.b.op1('Mul', [a, a])], { axis: 0 }), dims: [4, 3], wrt: ['a'] };
  }],
  ['Split with sizes (opset 17), one output unused', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 7]));
    const [p, , q] = n.b.op('Split', [x, n.b.ints([2, 3, 2])], { axis: 1 }, { outputs: 3 });
    return { net: n, y: n.b.op1('Mul', [p, q]), dims: [2, 2], wrt: ['x'] };
  }],
  ['Split num_outputs (opset 18), uneven', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [5, 2]));
    const [p, q, s] = n.b.op('Split', [x], { axis: 0, num_outputs: 3 }, { outputs: 3 });
    const y = n.b.op1('Concat', [n.b.op1('Tanh', [q]), p, s], { axis: 0 });
    return { net: n, y, dims: [5, 2], wrt: ['x'], opset: 18 };
  }],
  ['Slice constant, step 1, negative start and clamped end', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [4, 6]));
    return { net: n, y: n.b.op1('Slice', [x, n.b.ints([1, -4]), n.b.ints([3, 1000]), n.b.ints([0, 1])]), dims: [2, 4], wrt: ['x'] };
  }],
  ['Slice with steps 2 and -1', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [5, 6]));
    return { net: n, y: n.b.op1('Slice', [x, n.b.ints([0, -1]), n.b.ints([5, -7]), n.b.ints([0, 1]), n.b.ints([2, -2])]), dims: [3, 3], wrt: ['x'] };
  }],
  ['Slice with run-time ends (chunk as exported: Shape → Div)', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 8]));
    const { b } = n;
    const half = b.op1('Div', [b.op1('Slice', [b.op1('Shape', [x]), b.ints([1]), b.ints([2])]), b.ints([2])]);
    const lo = b.op1('Slice', [x, b.ints([0]), half, b.ints([1])]);
    const hi = b.op1('Slice', [x, half, b.ints([1 << 30]), b.ints([1])]);
    return { net: n, y: b.op1('Mul', [lo, b.op1('Sigmoid', [hi])]), dims: [2, 4], wrt: ['x'] };
  }],
  ['Gather rows of an embedding table (repeated and negative indices)', (r) => {
    const n = new Net(D, SYM);
    const table = n.input('table', randn(r, D, [5, 3]));
    const idx = n.input('idx', ints([2, 3], [0, 4, 0, -1, 2, 2]));
    void idx;
    return { net: n, y: n.b.op1('Gather', [table, 'idx']), dims: [2, 3, 3], wrt: ['table'] };
  }],
  ['Gather rows, opset 14 (one-hot product)', (r) => {
    const n = new Net(D, SYM);
    n.input('table', randn(r, D, [5, 3]));
    n.input('idx', ints([4], [1, 1, 4, -2]));
    return { net: n, y: n.b.op1('Gather', ['table', 'idx']), dims: [4, 3], wrt: ['table'], opset: 14 };
  }],
  ['Gather on axis 1 with run-time scalar index (EOS pooling)', (r) => {
    const n = new Net(D, SYM);
    const h = n.input('h', randn(r, D, [2, 4, 3]));
    const { b } = n;
    const eos = b.op1('ArgMax', [n.input('ids', { dtype: D, dims: [4], data: Float64Array.from([5, 9, 2, 7]) })], { axis: 0, keepdims: 0 });
    return { net: n, y: b.op1('Gather', [b.op1('Tanh', [h]), eos], { axis: 1 }), dims: [2, 3], wrt: ['h'] };
  }],
  ['Gather on axis 1 with index vector, opset 14', (r) => {
    const n = new Net(D, SYM);
    n.input('h', randn(r, D, [2, 4, 3]));
    n.input('idx', ints([3], [3, 0, 3]));
    return { net: n, y: n.b.op1('Gather', ['h', 'idx'], { axis: 1 }), dims: [2, 3, 3], wrt: ['h'], opset: 14 };
  }],
  ['GatherElements axis 1', (r) => {
    const n = new Net(D, SYM);
    n.input('x', randn(r, D, [2, 4]));
    n.input('idx', ints([2, 3], [0, 3, 3, 1, -1, 1]));
    return { net: n, y: n.b.op1('GatherElements', ['x', 'idx'], { axis: 1 }), dims: [2, 3], wrt: ['x'] };
  }],
  ['GatherND batch_dims 1 (CLIP pooled output)', (r) => {
    const n = new Net(D, SYM);
    n.input('h', randn(r, D, [2, 4, 3]));
    n.input('idx', ints([2, 1], [3, 1]));
    return { net: n, y: n.b.op1('GatherND', ['h', 'idx'], { batch_dims: 1 }), dims: [2, 3], wrt: ['h'] };
  }],
  ['GatherND batch_dims 0', (r) => {
    const n = new Net(D, SYM);
    n.input('h', randn(r, D, [3, 4]));
    n.input('idx', ints([3, 2], [0, 1, 2, 3, 0, 1]));
    return { net: n, y: n.b.op1('GatherND', ['h', 'idx']), dims: [3], wrt: ['h'] };
  }],
  ['Expand (broadcast and rank growth)', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [3, 1]));
    return { net: n, y: n.b.op1('Expand', [x, n.b.ints([2, 3, 4])]), dims: [2, 3, 4], wrt: ['x'] };
  }],
  ['Tile', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3]));
    return { net: n, y: n.b.op1('Tile', [x, n.b.ints([2, 3])]), dims: [4, 9], wrt: ['x'] };
  }],
  ['Pad constant', (r) => {
    const n = new Net(D, SYM);
    const x = n.input('x', randn(r, D, [2, 3]));
    return { net: n, y: n.b.op1('Pad', [x, n.b.ints([1, 0, 0, 2])]), dims: [3, 5], wrt: ['x'] };
  }],
];

describe.each(MODES)('finite differences: shape-moving ops (%s)', (_mode, sym) => {
  it.each(cases)('%s', async (name, make) => {
    SYM = sym;
    const c = make(rng(name.length * 7 + 1));
    // a random weight on the output, so gradients differ per element
    const w = c.net.input('w_out', randn(rng(3), D, c.dims as number[]));
    const y = c.net.b.op1('Mul', [c.y, w]);
    await checkGradient(c.net.model(y, c.dims, c.opset ?? 17), c.net.feeds, { wrt: c.wrt });
  });
});
