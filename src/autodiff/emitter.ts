// Emits the backward nodes: standard ONNX ops of the default domain, with the opset-dependent
// forms (axes as attribute or input) chosen here so rules never branch on the opset for them.
import { onnx, makeAttribute, makeTensorProto, float32ToFloat16, type AttrValue, type NodeProto, type TensorProto, type DTypeName, type TypedArray } from '../onnx';
import { isKnown, sameDim, type Dim } from './dims';
import type { ShapeTable } from './shapeTable';

/** Fresh names that collide with nothing in the graph. */
export class NameGen {
  private readonly used: Set<string>;
  /**
   * The last suffix taken for each base. Names are never released, so every suffix below it is
   * still taken: resuming there gives the same name as scanning from 1, without the quadratic
   * scan that dominated building SD1.5's train graphs (one base such as `grad/Mul` has thousands).
   */
  private readonly lastSuffix = new Map<string, number>();
  constructor(used: Iterable<string>) { this.used = new Set(used); }
  fresh(base: string): string {
    let i = this.lastSuffix.get(base) ?? 0;
    let n = i === 0 ? base : `${base}_${i}`;
    while (this.used.has(n)) n = `${base}_${++i}`;
    this.lastSuffix.set(base, i);
    this.used.add(n);
    return n;
  }
  reserve(name: string): void { this.used.add(name); }
  has(name: string): boolean { return this.used.has(name); }
}

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

export function typedScalar(v: number, dtype: DTypeName): TypedArray {
  switch (dtype) {
    case 'float64': return new Float64Array([v]);
    case 'float16': return float32ToFloat16(new Float32Array([v]));
    case 'int64': return new BigInt64Array([BigInt(v)]);
    case 'int32': return new Int32Array([v]);
    case 'bool': case 'uint8': return new Uint8Array([v]);
    case 'int8': return new Int8Array([v]);
    default: return new Float32Array([v]);
  }
}

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** node-name prefix of the rule being emitted */
  prefix = '';
  /** maps a forward value to the name the backward pass reads it under (recompute clones) */
  resolve: (name: string) => string = (n) => n;
  private readonly constCache = new Map<string, string>();
  private readonly shapeCache = new Map<string, string>();

  constructor(readonly names: NameGen, readonly t: ShapeTable) {}

  get opset(): number { return this.t.opset; }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOut = 1): string[] {
    const name = this.names.fresh(`${this.prefix}/${opType}`);
    const outputs = range(0, nOut).map((i) => this.names.fresh(`${name}_output_${i}`));
    this.nodes.push(onnx.NodeProto.create({
      name, opType, domain: '', input: inputs, output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
    }));
    return outputs;
  }

  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(opType, inputs, attrs)[0];
  }

  /** A constant initializer, shared between all uses of the same value. */
  constant(data: TypedArray, dims: number[], dtype: DTypeName): string {
    const key = `${dtype}|${dims.join(',')}|${Array.from(data as ArrayLike<number | bigint>, String).join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.names.fresh(`autodiff::const_${this.constCache.size}`);
    this.initializers.push(makeTensorProto(name, { dtype, dims, data }));
    this.t.set(name, { dtype, shape: dims });
    this.constCache.set(key, name);
    return name;
  }

  scalar(v: number, dtype: DTypeName): string { return this.constant(typedScalar(v, dtype), [], dtype); }
  ints(v: number[]): string { return this.constant(BigInt64Array.from(v.map(BigInt)), [v.length], 'int64'); }
  int0(v: number): string { return this.constant(new BigInt64Array([BigInt(v)]), [], 'int64'); }

  // ---- arithmetic
  add(a: string, b: string): string { return this.op1('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op1('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op1('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op1('Div', [a, b]); }
  neg(a: string): string { return this.op1('Neg', [a]); }
  /** x · c for a number c, in x's dtype (`like` names a value of that dtype). */
  scale(x: string, c: number, like: string): string {
    if (c === 1) return x;
    if (c === -1) return this.neg(x);
    return this.mul(x, this.scalar(c, this.dtypeOf(like)));
  }

  dtypeOf(name: string): DTypeName {
    const d = this.t.dtype(name);
    if (!d) throw new Error(`cannot infer the dtype of '${name}'`);
    return d;
  }

  // ---- shapes
  /** The shape of a forward value: a constant when static, else a (cached) Shape node. */
  shapeOf(name: string): string {
    const s = this.t.staticShape(name);
    if (s) return this.ints(s);
    const v = this.resolve(name);
    let hit = this.shapeCache.get(v);
    if (!hit) { hit = this.op1('Shape', [v]); this.shapeCache.set(v, hit); }
    return hit;
  }

  /** Size of one axis as a 1-element int64 tensor. */
  dimOf(name: string, axis: number): string {
    const d = this.t.dims(name);
    const a = axis < 0 ? axis + d.length : axis;
    if (isKnown(d[a])) return this.ints([d[a] as number]);
    return this.slice(this.shapeOf(name), [a], [a + 1], [0]);
  }

  zerosLike(name: string): string {
    return this.op1('Expand', [this.scalar(0, this.dtypeOf(name)), this.shapeOf(name)]);
  }

  reshape(x: string, shape: string | number[]): string {
    return this.op1('Reshape', [x, typeof shape === 'string' ? shape : this.ints(shape)]);
  }
  /**
   * Reshape `x` (whose dims are `xDims`) to the shape of forward value `like`. Symbolic sizes
   * that `x` has at the same position are written as 0 (copy) and one remaining unknown as -1,
   * so the shape is usually a constant and `like` need not stay alive for a Shape node.
   */
  reshapeLike(x: string, like: string, xDims?: Dim[]): string {
    const target = this.t.dims(like);
    if (xDims) {
      const spec = target.map((d, i) => (isKnown(d) && d > 0 ? d : d !== null && d !== 0 && xDims[i] === d ? 0 : null));
      const unknown = spec.filter((d) => d === null).length;
      if (unknown <= 1) return this.reshape(x, spec.map((d) => d ?? -1));
    }
    return this.reshape(x, this.shapeOf(like));
  }

  /**
   * Expand `x` (dims `xDims`) to the shape of forward value `like`; sizes `x` already has at the
   * same (right-aligned) position are written as 1, so the shape is usually a constant.
   */
  expandLike(x: string, like: string, xDims?: Dim[]): string {
    const target = this.t.dims(like);
    if (xDims && xDims.length <= target.length) {
      const off = target.length - xDims.length;
      const spec = target.map((d, i) => (isKnown(d) ? d : d !== null && i >= off && xDims[i - off] === d ? 1 : null));
      if (spec.every((d) => d !== null)) return this.op1('Expand', [x, this.ints(spec as number[])]);
    }
    return this.op1('Expand', [x, this.shapeOf(like)]);
  }

  transpose(x: string, perm: number[]): string {
    if (perm.every((p, i) => p === i)) return x;
    return this.op1('Transpose', [x], { perm });
  }

  cast(x: string, to: DTypeName): string {
    const codes: Record<DTypeName, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
    return this.op1('Cast', [x], { to: codes[to] });
  }

  private reduceWith(op: string, axesAsInputFrom: number, x: string, axes: number[] | null, keepdims: boolean): string {
    const kd = keepdims ? 1 : 0;
    if (axes && axes.length === 0) return x;
    if (this.opset >= axesAsInputFrom) return this.op1(op, axes ? [x, this.ints(axes)] : [x], { keepdims: kd });
    return this.op1(op, [x], axes ? { axes, keepdims: kd } : { keepdims: kd });
  }
  /** axes null: every axis */
  reduceSum(x: string, axes: number[] | null, keepdims: boolean): string { return this.reduceWith('ReduceSum', 13, x, axes, keepdims); }
  reduceMean(x: string, axes: number[] | null, keepdims: boolean): string { return this.reduceWith('ReduceMean', 18, x, axes, keepdims); }
  reduceProd(x: string, axes: number[] | null, keepdims: boolean): string { return this.reduceWith('ReduceProd', 18, x, axes, keepdims); }

  unsqueeze(x: string, axes: number[]): string {
    if (axes.length === 0) return x;
    return this.opset >= 13 ? this.op1('Unsqueeze', [x, this.ints(axes)]) : this.op1('Unsqueeze', [x], { axes });
  }
  /** Unsqueeze with axes held in a run-time tensor (opset 13+). */
  unsqueezeDyn(x: string, axes: string): string { return this.op1('Unsqueeze', [x, axes]); }
  squeeze(x: string, axes: number[]): string {
    if (axes.length === 0) return x;
    return this.opset >= 13 ? this.op1('Squeeze', [x, this.ints(axes)]) : this.op1('Squeeze', [x], { axes });
  }

  slice(x: string, starts: number[] | string, ends: number[] | string, axes: number[], steps?: number[]): string {
    const ins = [x, typeof starts === 'string' ? starts : this.ints(starts), typeof ends === 'string' ? ends : this.ints(ends), this.ints(axes)];
    if (steps && steps.some((s) => s !== 1)) ins.push(this.ints(steps));
    return this.op1('Slice', ins);
  }

  concat(xs: string[], axis: number): string { return xs.length === 1 ? xs[0] : this.op1('Concat', xs, { axis }); }

  /** Split along `axis` into pieces of the given sizes (numbers or a 1-D int64 tensor). */
  split(x: string, sizes: number[] | string, axis: number, n: number): string[] {
    const s = typeof sizes === 'string' ? sizes : this.ints(sizes);
    if (this.opset >= 13) return this.op('Split', [x, s], { axis }, n);
    if (typeof sizes === 'string') throw new Error('Split with run-time sizes needs opset 13');
    return this.op('Split', [x], { axis, split: sizes }, n);
  }

  /** Pad with zeros; `pads` is [begin..., end...] over all axes (numbers or an int64 tensor). */
  pad(x: string, pads: number[] | string): string {
    if (typeof pads !== 'string' && pads.every((p) => p === 0)) return x;
    return this.op1('Pad', [x, typeof pads === 'string' ? pads : this.ints(pads)], { mode: 'constant' });
  }

  /** Swap the last two axes of a value of rank `rank`. */
  transposeLast2(x: string, rank: number): string {
    return this.transpose(x, [...range(0, rank - 2), rank - 1, rank - 2]);
  }

  /**
   * Sums gradient `g`, shaped like forward value `from`, down to the shape of forward value `to`
   * (numpy broadcasting in reverse). Static shapes choose the axes at build time; where they
   * cannot decide, the axes are found at run time by reshaping each axis d into (d/t, t) and
   * summing the first factor, which is the identity exactly where no broadcast happened.
   */
  sumToShape(g: string, from: string | Dim[], to: string): string {
    const df = typeof from === 'string' ? this.t.dims(from) : from, dt = this.t.dims(to);
    if (df.length < dt.length) throw new Error(`cannot sum a gradient of rank ${df.length} to the rank ${dt.length} of '${to}'`);
    const lead = df.length - dt.length;
    let cur = lead > 0 ? this.reduceSum(g, range(0, lead), false) : g;
    const da = df.slice(lead);
    const staticAxes: number[] = [];
    let uncertain = false;
    dt.forEach((d, i) => {
      if (d === 1) { if (da[i] !== 1) staticAxes.push(i); return; }
      if (isKnown(d)) return; // a target size > 1 is never broadcast
      if (!sameDim(d, da[i])) uncertain = true;
    });
    if (!uncertain) return staticAxes.length ? this.reduceSum(cur, staticAxes, true) : cur;
    if (dt.length === 0) return cur;
    const gs = this.op1('Shape', [cur]);
    const ts = this.shapeOf(to);
    const k = this.div(gs, ts);
    const inter = this.reshape(this.concat([this.unsqueeze(k, [1]), this.unsqueeze(ts, [1])], 1), [-1]);
    cur = this.reduceSum(this.reshape(cur, inter), range(0, dt.length).map((i) => 2 * i), false);
    return cur;
  }

  /** Sum of gradient contributions (Add chain: Sum is not on the WebGPU EP's list). */
  sumAll(xs: string[]): string {
    return xs.reduce((acc, x) => this.add(acc, x));
  }
}
