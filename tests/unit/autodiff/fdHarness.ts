// Finite-difference checks of gradient graphs on onnxruntime-node. For a model with output y
// and a random upstream gradient r, f(x) = Σ r·y(x); every element of every wrt tensor is
// perturbed by ±eps and the central difference compared with the gradient graph's value.
// Double-precision graphs make the check tight; ops without a DOUBLE kernel in ORT's CPU EP are
// checked in float32 with a larger eps.
import { expect } from 'vitest';
import { buildGradientModel, EMITTED_OPS, type GradientOptions } from '../../../src/autodiff';
import { encodeModel, GraphBuilder, type ModelProto, type DTypeName, type TypedArray } from '../../../src/onnx';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import type { Session, Tensor } from '../../../src/runtime/types';

export const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: 1 });

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HostValue { dtype: DTypeName; dims: number[]; data: TypedArray }

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

export function floatArray(dtype: DTypeName, values: number[]): TypedArray {
  return dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
}

/** Normal-ish values; `away` keeps |v| ≥ away (kinks of Relu/Abs/Max stay far from ±eps). */
export function randn(r: () => number, dtype: DTypeName, dims: number[], opts: { away?: number; positive?: boolean; scale?: number } = {}): HostValue {
  const vals = Array.from({ length: size(dims) }, () => {
    let v = (r() + r() + r() - 1.5) * 2 * (opts.scale ?? 1);
    if (opts.positive) v = Math.abs(v) + 0.5;
    if (opts.away !== undefined && Math.abs(v) < opts.away) v = v < 0 ? v - opts.away : v + opts.away;
    return v;
  });
  return { dtype, dims, data: floatArray(dtype, vals) };
}

export function ints(dims: number[], values: number[]): HostValue {
  return { dtype: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) };
}

function tensorOf(v: HostValue): Tensor {
  return { type: v.dtype as Tensor['type'], dims: v.dims, data: v.data };
}

/** A builder preset: inputs with their values, and typed constants for the graph's dtype. */
export class Net {
  readonly b = new GraphBuilder('case');
  readonly feeds: Record<string, HostValue> = {};
  /** symbolic: every float input's and the output's dims are declared as named symbols, so only run-time shapes are known */
  constructor(readonly dtype: DTypeName = 'float64', readonly symbolic = false) {}
  input(name: string, v: HostValue): string {
    this.b.input(name, v.dtype, this.symbolic && v.dtype.startsWith('float') ? v.dims.map((_, i) => `${name}_d${i}`) : v.dims);
    this.feeds[name] = v;
    return name;
  }
  /** a float constant tensor in the graph's dtype */
  c(values: number[] | number, dims: number[] = Array.isArray(values) ? [values.length] : []): string {
    return this.b.constant(floatArray(this.dtype, Array.isArray(values) ? values : [values]), dims);
  }
  param(name: string, v: HostValue): string {
    return this.b.param(name, v.data, v.dims);
  }
  model(output: string, dims: (number | string)[], opset = 17): ModelProto {
    this.b.output(output, 'y', this.dtype, this.symbolic ? dims.map((_, i) => `y_d${i}`) : dims);
    return this.b.toModel({ opset });
  }
}

export interface CheckOptions {
  wrt: string[];
  eps?: number;
  tol?: number;
  grad?: Partial<GradientOptions>;
  seed?: number;
}

export interface CheckResult { maxErr: number; gradModel: ModelProto; backwardOps: string[] }

async function session(model: ModelProto, name: string): Promise<Session> {
  return runtime.createSession({ name, model: encodeModel(model) });
}

function dot(a: TypedArray, b: TypedArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Number(a[i]) * Number(b[i]);
  return s;
}

/** Builds the gradient graph of `model` (output 'y') and checks it against central differences. */
export async function checkGradient(model: ModelProto, feeds: Record<string, HostValue>, opts: CheckOptions): Promise<CheckResult> {
  const out = model.graph!.output![0].name!;
  const gm = buildGradientModel(model, { of: [out], wrt: opts.wrt, ...opts.grad });
  const nForward = model.graph!.node!.length;
  const backward = gm.graph!.node!.slice(nForward);
  const backwardOps = [...new Set(backward.map((n) => n.opType!))].sort();
  for (const n of backward) {
    expect(n.domain ?? '', `node ${n.name} domain`).toBe('');
    expect(EMITTED_OPS.has(n.opType!) || n.name!.endsWith('_recomputed'), `op ${n.opType} (${n.name}) is not in EMITTED_OPS`).toBe(true);
  }
  const fwd = await session(model, 'forward');
  const grad = await session(gm, 'gradient');
  try {
    const base = await fwd.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensorOf(v)])));
    const y = base[out];
    const dtype = y.type as DTypeName;
    const r = randn(rng(opts.seed ?? 7), dtype, [...y.dims]);
    const gradOut = await grad.run({
      ...Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensorOf(v)])),
      [`${out}_grad`]: tensorOf(r),
    });
    // the forward part of the gradient graph computes the same output
    expect(Array.from(gradOut[out].data as ArrayLike<number>)).toEqual(Array.from(y.data as ArrayLike<number>));
    const eps = opts.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
    const tol = opts.tol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
    let maxErr = 0;
    for (const w of opts.wrt) {
      const g = gradOut[`${w}_grad`];
      const v = feeds[w];
      expect(g, `output ${w}_grad`).toBeDefined();
      expect([...g.dims], `${w}_grad shape`).toEqual(v.dims);
      const fd = new Float64Array(v.data.length);
      for (let j = 0; j < v.data.length; j++) {
        const fAt = async (delta: number) => {
          const data = v.data.slice() as TypedArray;
          (data as Float64Array)[j] = Number(v.data[j]) + delta;
          const res = await fwd.run(Object.fromEntries(Object.entries(feeds).map(([k, x]) => [k, tensorOf(k === w ? { ...x, data } : x)])));
          return dot(r.data, res[out].data);
        };
        fd[j] = ((await fAt(eps)) - (await fAt(-eps))) / (2 * eps);
      }
      const scale = Math.max(1e-8, ...Array.from(fd, Math.abs));
      let err = 0;
      for (let j = 0; j < fd.length; j++) err = Math.max(err, Math.abs(Number(g.data[j]) - fd[j]) / scale);
      maxErr = Math.max(maxErr, err);
      expect(err, `${w}: max |grad − fd| / max|fd| (fd scale ${scale.toExponential(2)})`).toBeLessThanOrEqual(tol);
    }
    return { maxErr, gradModel: gm, backwardOps };
  } finally {
    await fwd.release();
    await grad.release();
  }
}
