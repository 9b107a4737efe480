// Reads the PyTorch-oracle fixtures written by tools/fixtures/make_grad_fixtures.py (a JSON
// manifest + one raw little-endian .bin per case; see the script's docstring for the format)
// and compares gradients. Shared by the Node oracle tests and the WebGPU parity e2e test.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../../../src/runtime/types';

export const FIXTURE_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../fixtures/autodiff');

interface TensorEntry { dtype: 'float32' | 'int64'; shape: number[]; offset: number; bytes: number }

interface Manifest {
  case: string;
  opset: number;
  model: string;
  bin: string;
  of: string[];
  wrt: string[];
  tensors: Record<'inputs' | 'upstream' | 'grads' | 'outputs', Record<string, TensorEntry>> & { mse?: Record<string, TensorEntry> };
  params: Record<string, { torch: string; transform: string }>;
  zeroGrads: string[];
  ops: string[];
}

export interface GradFixture {
  /** `<case>.opset<N>` */
  stem: string;
  case: string;
  opset: number;
  modelBytes: Uint8Array;
  of: string[];
  wrt: string[];
  inputs: Record<string, Tensor>;
  /** upstream gradient per output (feed as `${output}_grad`) */
  upstream: Record<string, Tensor>;
  /** torch autograd's gradient per `wrt` name (float64 oracle rounded to float32) */
  grads: Record<string, Tensor>;
  /** torch forward outputs (float64 rounded to float32) */
  outputs: Record<string, Tensor>;
  /** onnx initializer -> torch parameter it holds */
  params: Manifest['params'];
  /** `wrt` names whose gradient is zero in exact arithmetic (stored as zeros) */
  zeroGrads: string[];
  ops: string[];
  /** the training-loss oracle, for some fixtures: loss = mean((out − target)²) and its gradients (`${w}_grad`) */
  mse?: { target: Tensor; loss: Tensor; grads: Record<string, Tensor> };
}

export function listGradFixtures(): string[] {
  const index = JSON.parse(readFileSync(join(FIXTURE_DIR, 'index.json'), 'utf8')) as { fixtures: string[] };
  return index.fixtures;
}

function readTensor(bin: Uint8Array, e: TensorEntry, where: string): Tensor {
  if (e.offset < 0 || e.offset + e.bytes > bin.byteLength || e.offset % 8 !== 0) {
    throw new Error(`${where}: tensor range ${e.offset}+${e.bytes} is outside the .bin (${bin.byteLength} bytes)`);
  }
  const buf = bin.slice(e.offset, e.offset + e.bytes).buffer;
  const data = e.dtype === 'float32' ? new Float32Array(buf) : new BigInt64Array(buf);
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`${where}: shape [${e.shape}] needs ${n} values, found ${data.length}`);
  return { type: e.dtype, dims: e.shape, data };
}

export function loadGradFixture(stem: string, dir = FIXTURE_DIR): GradFixture {
  const m = JSON.parse(readFileSync(join(dir, `${stem}.json`), 'utf8')) as Manifest;
  const bin = new Uint8Array(readFileSync(join(dir, m.bin)));
  const group = (g: keyof Manifest['tensors']) =>
    Object.fromEntries(Object.entries(m.tensors[g] ?? {}).map(([k, e]) => [k, readTensor(bin, e, `${stem} ${g}.${k}`)]));
  let mse: GradFixture['mse'];
  if (m.tensors.mse) {
    const { target, loss, ...grads } = group('mse');
    mse = { target, loss, grads };
  }
  return {
    stem,
    case: m.case,
    opset: m.opset,
    modelBytes: new Uint8Array(readFileSync(join(dir, m.model))),
    of: m.of,
    wrt: m.wrt,
    inputs: group('inputs'),
    upstream: group('upstream'),
    grads: group('grads'),
    outputs: group('outputs'),
    params: m.params,
    zeroGrads: m.zeroGrads ?? [],
    ops: m.ops,
    mse,
  };
}

/** Feeds of a gradient graph: the forward inputs plus `${o}_grad` for every differentiated output. */
export function gradientFeeds(f: GradFixture): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = { ...f.inputs };
  for (const o of f.of) feeds[`${o}_grad`] = f.upstream[o];
  return feeds;
}

export interface Agreement {
  ok: boolean;
  /** ‖a − b‖₂ / max(‖b‖₂, tiny) */
  relError: number;
  /** elements outside |a − b| ≤ atol + rtol·|b| */
  badElements: number;
  worst: { index: number; actual: number; expected: number } | null;
  why: string;
}

/** Largest gradient magnitude of the fixture: the scale a gradient that should be zero is judged against. */
export function gradientScale(f: GradFixture): number {
  let m = 0;
  for (const g of Object.values(f.grads)) for (const v of g.data as Float32Array) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * A gradient that is zero in exact arithmetic (f.zeroGrads): float32 leaves rounding noise, so
 * it must be small against the fixture's gradient scale: max|a| ≤ atolScale·scale.
 */
export function nearZero(actual: Tensor, expected: Tensor, scale: number, atolScale = 1e-5): Agreement {
  if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i])) {
    return { ok: false, relError: Infinity, badElements: -1, worst: null, why: `shape [${actual.dims}] instead of [${expected.dims}]` };
  }
  const a = actual.data as Float32Array;
  let worst: Agreement['worst'] = null, bad = 0;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]) <= atolScale * scale)) bad++;
    if (!worst || !(Math.abs(a[i]) <= Math.abs(worst.actual))) worst = { index: i, actual: a[i], expected: 0 };
  }
  const ok = bad === 0;
  return { ok, relError: NaN, badElements: bad, worst, why: ok ? '' : `${bad} of ${a.length} elements of a zero gradient exceed ${atolScale}·${scale.toExponential(2)}, worst ${worst?.actual}` };
}

/**
 * The agreement the tests demand, in two parts:
 *   1. norm-wise: ‖a − b‖₂ / max(‖b‖₂, 1e-30) ≤ relTol (1e-4 by default);
 *   2. element-wise: |aᵢ − bᵢ| ≤ rtol·|bᵢ| + atol with rtol = relTol and atol = atolScale·max|b|
 *      (1e-4 of the largest expected magnitude), so no single entry is far off even where the
 *      norm hides it, while tiny entries that cancel in float32 are judged against the
 *      tensor's scale rather than their own.
 */
export function agreement(actual: Tensor, expected: Tensor, relTol = 1e-4, atolScale = 1e-4): Agreement {
  const fail = (why: string): Agreement => ({ ok: false, relError: Infinity, badElements: -1, worst: null, why });
  if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i])) {
    return fail(`shape [${actual.dims}] instead of [${expected.dims}]`);
  }
  const a = actual.data, b = expected.data;
  if (!(a instanceof Float32Array) || !(b instanceof Float32Array)) return fail(`dtype ${actual.type} instead of ${expected.type}`);
  let diff2 = 0, ref2 = 0, maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i] - b[i];
    diff2 += d * d;
    ref2 += b[i] * b[i];
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  const relError = Math.sqrt(diff2) / Math.max(Math.sqrt(ref2), 1e-30);
  const atol = atolScale * maxRef;
  let badElements = 0, worst: Agreement['worst'] = null, worstExcess = -Infinity;
  for (let i = 0; i < b.length; i++) {
    const excess = Math.abs(a[i] - b[i]) - (relTol * Math.abs(b[i]) + atol);
    // NaN never passes
    if (!(excess <= 0)) badElements++;
    if (!(excess <= worstExcess)) { worstExcess = excess; worst = { index: i, actual: a[i], expected: b[i] }; }
  }
  const ok = relError <= relTol && badElements === 0;
  const why = ok ? '' : `relative error ${relError.toExponential(2)} (limit ${relTol}), ${badElements} of ${b.length} elements out of tolerance` +
    (worst ? `, worst at [${worst.index}]: ${worst.actual} vs ${worst.expected}` : '');
  return { ok, relError, badElements, worst, why };
}
