// Finite-difference checks: Conv, ConvTranspose, Resize, InstanceNormalization / GroupNorm.
// ORT's CPU Conv, ConvTranspose and Resize have float kernels only: these run in float32, with
// a large eps (the ops are linear in each operand, so the central difference is exact up to
// float rounding).
import { describe, expect, it } from 'vitest';
import { float } from '../../../src/onnx';
import { Net, checkGradient, randn, rng } from './fdHarness';

const F = 'float32' as const;
let SYM = false;
const MODES = [['static shapes', false], ['symbolic shapes', true]] as const;

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  y: number[];
  attrs: Record<string, number[] | number>;
  bias?: boolean;
  op?: 'Conv' | 'ConvTranspose';
  /** the op dx is computed with under convInputGradient 'flipped-conv' (checked where given) */
  dx?: { flipped: 'Conv' | 'ConvTranspose' };
}

const convCases: ConvCase[] = [
  { name: '3×3 pad 1', x: [2, 3, 5, 4], w: [4, 3, 3, 3], y: [2, 4, 5, 4], attrs: { pads: [1, 1, 1, 1] }, bias: true, dx: { flipped: 'Conv' } },
  { name: 'stride 2, odd sizes, pad 1 (dropped last row)', x: [1, 2, 7, 6], w: [3, 2, 3, 3], y: [1, 3, 4, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true, dx: { flipped: 'ConvTranspose' } },
  { name: 'stride 2, no pad, 8×7 (two dropped positions)', x: [2, 2, 8, 7], w: [2, 2, 3, 3], y: [2, 2, 3, 3], attrs: { strides: [2, 2] } },
  { name: 'stride 3, kernel 2, asymmetric pads', x: [1, 2, 7, 5], w: [2, 2, 2, 2], y: [1, 2, 3, 2], attrs: { strides: [3, 3], pads: [1, 0, 0, 1] }, bias: true },
  { name: 'groups 2', x: [2, 4, 5, 5], w: [6, 2, 3, 3], y: [2, 6, 5, 5], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'groups 2, stride 2, odd size', x: [2, 4, 7, 5], w: [4, 2, 3, 3], y: [2, 4, 3, 2], attrs: { group: 2, strides: [2, 2] } },
  { name: 'depthwise (groups = channels)', x: [1, 3, 5, 5], w: [3, 1, 3, 3], y: [1, 3, 5, 5], attrs: { group: 3, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'dilation 2', x: [1, 2, 7, 7], w: [2, 2, 3, 3], y: [1, 2, 5, 5], attrs: { dilations: [2, 2], pads: [1, 1, 1, 1] } },
  { name: '1×1 (projection shortcut)', x: [2, 3, 4, 4], w: [5, 3, 1, 1], y: [2, 5, 4, 4], attrs: {}, bias: true },
  { name: 'stride 1, 2×3 kernel, asymmetric pads', x: [1, 2, 5, 6], w: [3, 2, 2, 3], y: [1, 3, 5, 6], attrs: { pads: [1, 0, 0, 2] }, bias: true, dx: { flipped: 'Conv' } },
  { name: 'stride 1, pads beyond the kernel (dx stays ConvTranspose)', x: [1, 2, 4, 4], w: [2, 2, 2, 2], y: [1, 2, 7, 7], attrs: { pads: [2, 2, 2, 2] }, dx: { flipped: 'ConvTranspose' } },
  { name: '1-D conv, stride 1, dilation 2, asymmetric pads', x: [1, 2, 9], w: [3, 2, 3], y: [1, 3, 8], attrs: { dilations: [2], pads: [2, 1] } },
  { name: '1-D conv, stride 2', x: [2, 3, 9], w: [4, 3, 3], y: [2, 4, 4], attrs: { strides: [2], pads: [1, 0] }, bias: true },
  { name: 'ConvTranspose stride 2, output_padding 1', op: 'ConvTranspose', x: [1, 3, 3, 4], w: [3, 2, 3, 3], y: [1, 2, 6, 8], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, bias: true },
  { name: 'ConvTranspose groups 2', op: 'ConvTranspose', x: [2, 4, 3, 3], w: [4, 1, 2, 2], y: [2, 2, 4, 4], attrs: { group: 2 }, bias: true },
  { name: 'ConvTranspose stride 2 dilation 2', op: 'ConvTranspose', x: [1, 2, 3, 3], w: [2, 2, 3, 3], y: [1, 2, 9, 9], attrs: { strides: [2, 2], dilations: [2, 2] } },
];

const CONV_MODES = MODES.flatMap(([mode, sym]) => (['conv-transpose', 'flipped-conv'] as const).map((dx) => [`${mode}, dx ${dx}`, sym, dx] as const));

describe.each(CONV_MODES)('finite differences: Conv / ConvTranspose (%s)', (_mode, sym, dxAs) => {
  it.each(convCases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    SYM = sym;
    const r = rng(name.length * 13 + 5);
    const n = new Net(F, SYM);
    const x = n.input('x', randn(r, F, c.x));
    const w = n.input('w', randn(r, F, c.w, { scale: 0.5 }));
    const ins = [x, w];
    const wrt = ['x', 'w'];
    if (c.bias) { ins.push(n.input('bias', randn(r, F, [c.op === 'ConvTranspose' ? c.y[1] : c.w[0]]))); wrt.push('bias'); }
    const y = n.b.op1(c.op ?? 'Conv', ins, { kernel_shape: c.w.slice(2), ...c.attrs });
    const res = await checkGradient(n.model(y, c.y), n.feeds, { wrt, eps: 0.05, tol: 2e-3, grad: { convInputGradient: dxAs } });
    if (c.dx) expect(res.backwardOps.includes('ConvTranspose')).toBe(dxAs === 'conv-transpose' || c.dx.flipped === 'ConvTranspose');
  });
});

interface ResizeCase { name: string; x: number[]; scales: number[]; ctm: string; nearest: string; sizes?: boolean }
const resizeCases: ResizeCase[] = [
  { name: '×2 asymmetric/floor (torch nearest export)', x: [1, 2, 3, 4], scales: [1, 1, 2, 2], ctm: 'asymmetric', nearest: 'floor' },
  { name: '×3 asymmetric/floor', x: [1, 1, 2, 3], scales: [1, 1, 3, 3], ctm: 'asymmetric', nearest: 'floor' },
  { name: '×2 half_pixel/round_prefer_floor', x: [2, 1, 3, 3], scales: [1, 1, 2, 2], ctm: 'half_pixel', nearest: 'round_prefer_floor' },
  { name: '×(2,3) via sizes', x: [1, 2, 2, 3], scales: [1, 1, 2, 3], ctm: 'asymmetric', nearest: 'floor', sizes: true },
];

describe.each(MODES)('finite differences: Resize nearest (%s)', (_mode, sym) => {
  it.each(resizeCases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    SYM = sym;
    const r = rng(name.length * 3);
    const n = new Net(F, SYM);
    const x = n.input('x', randn(r, F, c.x));
    const out = c.x.map((d, i) => d * c.scales[i]);
    const ins = c.sizes ? [x, '', '', n.b.ints(out)] : [x, '', n.b.constant(Float32Array.from(c.scales), [4])];
    const y = n.b.op1('Resize', ins, { mode: 'nearest', coordinate_transformation_mode: c.ctm, nearest_mode: c.nearest });
    await checkGradient(n.model(y, out), n.feeds, { wrt: ['x'], eps: 0.05, tol: 1e-3 });
  });
});

describe.each(MODES)('finite differences: InstanceNormalization and GroupNorm (%s)', (_mode, sym) => {
  it('InstanceNormalization with scale and bias', async () => {
    SYM = sym;
    const r = rng(99);
    const n = new Net(F, SYM);
    const x = n.input('x', randn(r, F, [2, 3, 4, 3]));
    const s = n.input('s', randn(r, F, [3]));
    const b = n.input('b', randn(r, F, [3]));
    const y = n.b.op1('InstanceNormalization', [x, s, b], { epsilon: float(1e-5) });
    await checkGradient(n.model(y, [2, 3, 4, 3]), n.feeds, { wrt: ['x', 's', 'b'], eps: 1e-2, tol: 2e-2 });
  });
  it('GroupNorm as the diffusers export writes it (Reshape → InstanceNormalization → Reshape → Mul → Add)', async () => {
    SYM = sym;
    const r = rng(5);
    const n = new Net(F, SYM);
    const x = n.input('x', randn(r, F, [2, 4, 3, 3]));
    const g = n.input('g', randn(r, F, [4, 1, 1]));
    const beta = n.input('beta', randn(r, F, [4, 1, 1]));
    const { b } = n;
    const grouped = b.op1('Reshape', [x, b.ints([0, 2, -1])]);
    const normed = b.op1('InstanceNormalization', [grouped, n.c([1, 1]), n.c([0, 0])], { epsilon: float(1e-5) });
    const back = b.op1('Reshape', [normed, b.op1('Shape', [x])]);
    const y = b.op1('Add', [b.op1('Mul', [back, g]), beta]);
    await checkGradient(n.model(y, [2, 4, 3, 3]), n.feeds, { wrt: ['x', 'g', 'beta'], eps: 1e-2, tol: 2e-2 });
  });
});
