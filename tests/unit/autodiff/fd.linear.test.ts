// Finite-difference checks: MatMul (batched, broadcast, 1-D), Gemm (all transposes, C broadcast), Einsum.
import { describe, it } from 'vitest';
import { float } from '../../../src/onnx';
import { Net, checkGradient, randn, rng } from './fdHarness';

const D = 'float64' as const;
/** set per test: declare every input/output dim as a symbol (exercises the run-time shape paths) */
let SYM = false;
const MODES = [['static shapes', false], ['symbolic shapes', true]] as const;


const matmulShapes: [number[], number[], number[]][] = [
  [[3, 4], [4, 5], [3, 5]],
  [[2, 3, 4], [4, 5], [2, 3, 5]], // linear layer: 2-D weight under a batch
  [[2, 3, 4], [2, 4, 5], [2, 3, 5]],
  [[2, 1, 3, 4], [3, 4, 2], [2, 3, 3, 2]], // broadcast batch on both sides
  [[3, 4], [2, 4, 5], [2, 3, 5]],
  [[4], [4, 5], [5]],
  [[4], [2, 4, 5], [2, 5]],
  [[2, 3, 4], [4], [2, 3]],
  [[3, 4], [4], [3]],
  [[4], [4], []],
];

describe.each(MODES)('finite differences: MatMul (%s)', (_mode, sym) => {
  it.each(matmulShapes.map(([a, b, y]) => [`[${a}] · [${b}]`, a, b, y] as const))('%s', async (name, sa, sb, sy) => {
    SYM = sym;
    const r = rng(name.length * 31 + sa.length);
    const n = new Net(D, SYM);
    const a = n.input('a', randn(r, D, sa));
    const b = n.input('b', randn(r, D, sb));
    await checkGradient(n.model(n.b.op1('MatMul', [a, b]), sy), n.feeds, { wrt: ['a', 'b'] });
  });
});

describe.each(MODES)('finite differences: Gemm (%s)', (_mode, sym) => {
  const variants: [string, number, number, number[] | null][] = [
    ['plain', 0, 0, [3, 5]],
    ['transA', 1, 0, [5]],
    ['transB', 0, 1, [1, 5]],
    ['transA transB', 1, 1, [3, 1]],
    ['no C', 0, 1, null],
  ];
  it.each(variants)('%s', async (name, transA, transB, cShape) => {
    SYM = sym;
    const r = rng(name.length * 17);
    const n = new Net(D, SYM);
    const a = n.input('a', randn(r, D, transA ? [4, 3] : [3, 4]));
    const b = n.input('b', randn(r, D, transB ? [5, 4] : [4, 5]));
    const ins = [a, b];
    const wrt = ['a', 'b'];
    if (cShape) { ins.push(n.input('c', randn(r, D, cShape))); wrt.push('c'); }
    const y = n.b.op1('Gemm', ins, { alpha: float(0.7), beta: float(1.3), transA, transB });
    await checkGradient(n.model(y, [3, 5]), n.feeds, { wrt });
  });
});

describe.each(MODES)('finite differences: Einsum (%s)', (_mode, sym) => {
  const eqs: [string, number[][], number[]][] = [
    ['ij,jk->ik', [[3, 4], [4, 2]], [3, 2]],
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 2]], [2, 3, 2]],
    ['bhqd,bhkd->bhqk', [[1, 2, 3, 4], [1, 2, 5, 4]], [1, 2, 3, 5]],
    ['...ij,...jk->...ik', [[2, 3, 4], [2, 4, 2]], [2, 3, 2]],
    ['ij,kj->ik', [[3, 4], [2, 4]], [3, 2]],
    ['ij,j->i', [[3, 4], [4]], [3]],
    ['ijk,k->ij', [[2, 3, 4], [4]], [2, 3]],
    ['ij,kl->ijkl', [[2, 3], [2, 2]], [2, 3, 2, 2]], // outer product
    ['ij,jk->i', [[3, 4], [4, 2]], [3]], // k summed in b alone
    ['ij->ji', [[3, 4]], [4, 3]],
    ['ij->i', [[3, 4]], [3]],
  ];
  it.each(eqs)('%s', async (eq, shapes, sy) => {
    SYM = sym;
    const r = rng(eq.length * 101);
    const n = new Net(D, SYM);
    const names = shapes.map((s, i) => n.input(`x${i}`, randn(r, D, s)));
    await checkGradient(n.model(n.b.op1('Einsum', names, { equation: eq }), sy, 17), n.feeds, { wrt: names });
  });
});
