// Static dtype and shape inference over a graph, with symbolic dims, plus the contents of small
// integer tensors (shape arithmetic) where they can be derived. The gradient rules need ranks
// (always) and dims (to skip broadcast reductions that static shapes prove unnecessary).
import { attr, readTensorProto, dtypeName, onnx, type GraphProto, type NodeProto, type TensorProto, type DTypeName, type HostTensor, type ExternalDataReader, externalLocation } from '../onnx';
import { valueType, topologicalOrder } from '../onnx/graph';
import { type Dim, addDim, broadcastShapes, divDim, isKnown, mulDim, opaque, prodDims } from './dims';

export interface TypeInfo { dtype: DTypeName | null; shape: Dim[] | null }

const FLOAT_TYPES = new Set<DTypeName>(['float32', 'float64', 'float16']);
export const isFloat = (d: DTypeName | null | undefined): boolean => !!d && FLOAT_TYPES.has(d);

/** Values of small integer tensors are tracked up to this many elements. */
const MAX_TRACKED = 64;

export class ShapeTable {
  private readonly info = new Map<string, TypeInfo>();
  /** flat contents of small integer tensors (shapes, axes, indices) */
  readonly values = new Map<string, Dim[]>();
  private readonly constTensors = new Map<string, TensorProto>();
  private readonly constCache = new Map<string, HostTensor | null>();
  private readonly constNames = new Set<string>();

  constructor(readonly opset: number, private readonly readExternal?: ExternalDataReader) {}

  get(name: string): TypeInfo | undefined { return this.info.get(name); }
  set(name: string, t: TypeInfo): void { this.info.set(name, t); }
  has(name: string): boolean { return this.info.has(name); }
  /** `name` has the same dtype and shape as `like` (gradients, recomputed clones). */
  alias(name: string, like: string): void {
    const t = this.info.get(like);
    if (t) this.info.set(name, t);
    const v = this.values.get(like);
    if (v) this.values.set(name, v);
  }

  dtype(name: string): DTypeName | null { return this.info.get(name)?.dtype ?? null; }
  shape(name: string): Dim[] | null { return this.info.get(name)?.shape ?? null; }

  rank(name: string): number {
    const s = this.shape(name);
    if (!s) throw new Error(`cannot infer the rank of '${name}' (give the model value_info for it)`);
    return s.length;
  }

  dims(name: string): Dim[] {
    const s = this.shape(name);
    if (!s) throw new Error(`cannot infer the rank of '${name}' (give the model value_info for it)`);
    return s;
  }

  staticShape(name: string): number[] | null {
    const s = this.shape(name);
    return s && s.every(isKnown) ? (s as number[]) : null;
  }

  registerConstant(name: string, t: TensorProto): void { this.constTensors.set(name, t); }
  registerConstantValue(name: string, h: HostTensor): void { this.constCache.set(name, h); this.constNames.add(name); }

  /** The value of an initializer or Constant output, or null if it is computed at run time. */
  constant(name: string): HostTensor | null {
    if (this.constCache.has(name)) return this.constCache.get(name)!;
    const t = this.constTensors.get(name);
    let v: HostTensor | null = null;
    if (t) {
      try {
        v = externalLocation(t) && !this.readExternal ? null : readTensorProto(t, this.readExternal);
      } catch {
        v = null;
      }
    }
    this.constCache.set(name, v);
    return v;
  }

  isConstant(name: string): boolean { return this.constTensors.has(name) || this.constNames.has(name); }

  /** Integer contents as plain numbers, when all are known. */
  intValues(name: string): number[] | null {
    const v = this.values.get(name);
    return v && v.every(isKnown) ? (v as number[]) : null;
  }
}

/** The tensor a Constant node holds, whichever attribute carries it. */
export function constantNodeValue(node: NodeProto): HostTensor | null {
  const a = (node.attribute ?? [])[0];
  if (!a) return null;
  if (a.name === 'value' && a.t) return readTensorProto(a.t);
  if (a.name === 'value_float') return { dtype: 'float32', dims: [], data: new Float32Array([a.f ?? 0]) };
  if (a.name === 'value_floats') return { dtype: 'float32', dims: [a.floats?.length ?? 0], data: Float32Array.from(a.floats ?? []) };
  if (a.name === 'value_int') return { dtype: 'int64', dims: [], data: BigInt64Array.from([BigInt(attr<number>(node, 'value_int', 0))]) };
  if (a.name === 'value_ints') { const v = attr<number[]>(node, 'value_ints', []); return { dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) }; }
  return null;
}

function hostToDims(h: HostTensor): Dim[] | null {
  if (h.data.length > MAX_TRACKED) return null;
  if (h.dtype === 'int64') return Array.from(h.data as BigInt64Array, (x) => Number(x));
  if (h.dtype === 'int32' || h.dtype === 'int8' || h.dtype === 'uint8' || h.dtype === 'bool') return Array.from(h.data as Int32Array);
  return null;
}

const SAME_SHAPE = new Set([
  'Relu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Neg', 'Reciprocal', 'Erf', 'Abs', 'Identity', 'Softplus',
  'Gelu', 'Softmax', 'LogSoftmax', 'InstanceNormalization', 'Clip', 'Floor', 'Ceil', 'Round', 'Sign', 'LeakyRelu',
  'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Sin', 'Cos', 'Tan', 'Softsign', 'CumSum', 'Trilu', 'Mish', 'ScatterND',
  'ScatterElements', 'BatchNormalization', 'Not', 'IsNaN', 'IsInf', 'Celu', 'ThresholdedRelu', 'Hardmax',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'PRelu', 'BitShift',
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Where']);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);

const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);

/** Axes of a node from its attribute (old opsets) or its second input (new opsets). */
function axesOf(node: NodeProto, t: ShapeTable, inputIndex: number): number[] | null | undefined {
  const a = attr<number[]>(node, 'axes');
  if (a) return a;
  const name = node.input?.[inputIndex];
  if (!name) return undefined;
  return t.intValues(name);
}

function convLike(node: NodeProto, x: Dim[], w: Dim[] | null, transpose: boolean): Dim[] | null {
  const nd = x.length - 2;
  if (nd < 1) return null;
  const kernel = attr<number[]>(node, 'kernel_shape') ?? (w ? w.slice(2) : null);
  if (!kernel) return null;
  const strides = attr<number[]>(node, 'strides') ?? Array(nd).fill(1);
  const dil = attr<number[]>(node, 'dilations') ?? Array(nd).fill(1);
  const pads = attr<number[]>(node, 'pads') ?? Array(2 * nd).fill(0);
  const autoPad = attr<string>(node, 'auto_pad', 'NOTSET');
  const group = attr<number>(node, 'group', 1);
  const out: Dim[] = [x[0]];
  const isConvT = node.opType === 'ConvTranspose';
  if (isConvT) out.push(w ? mulDim(w[1], group) : null);
  else if (node.opType === 'Conv') out.push(w ? w[0] : null);
  else out.push(x[1]);
  const outputShape = attr<number[]>(node, 'output_shape');
  for (let i = 0; i < nd; i++) {
    const d = x[i + 2];
    const k = kernel[i];
    if (!isKnown(k as Dim)) { out.push(null); continue; }
    const ke = ((k as number) - 1) * dil[i] + 1;
    const s = strides[i];
    if (transpose) {
      if (outputShape) { out.push(outputShape[i]); continue; }
      const op = (attr<number[]>(node, 'output_padding') ?? [])[i] ?? 0;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') { out.push(mulDim(d, s)); continue; }
      const extra = op + ke - pads[i] - pads[i + nd];
      out.push(isKnown(d) ? s * (d - 1) + extra : extra === s ? mulDim(d, s) : opaque('convT', [d, s, extra]));
      continue;
    }
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(isKnown(d) ? Math.ceil(d / s) : s === 1 ? d : opaque('ceildiv', [d, s]));
      continue;
    }
    const pb = autoPad === 'VALID' ? 0 : pads[i];
    const pe = autoPad === 'VALID' ? 0 : pads[i + nd];
    const ceil = attr<number>(node, 'ceil_mode', 0);
    if (isKnown(d)) {
      const v = (d + pb + pe - ke) / s;
      out.push((ceil ? Math.ceil(v) : Math.floor(v)) + 1);
    } else if (s === 1 && pb + pe === ke - 1) {
      out.push(d);
    } else {
      out.push(opaque('conv', [d, ke, s, pb + pe, ceil]));
    }
  }
  return out;
}

function einsumShape(eq: string, shapes: (Dim[] | null)[]): Dim[] | null {
  const [lhs, rhsRaw] = eq.replace(/\s/g, '').split('->');
  const terms = lhs.split(',');
  if (shapes.some((s) => !s)) return null;
  const sizes = new Map<string, Dim>();
  let ellipsis: Dim[] = [];
  terms.forEach((term, i) => {
    const s = shapes[i]!;
    const parts = term.split('...');
    const before = parts[0];
    const after = parts.length > 1 ? parts[1] : '';
    const nEll = s.length - before.length - after.length;
    if (parts.length > 1 && nEll > ellipsis.length) ellipsis = s.slice(before.length, before.length + nEll);
    [...before].forEach((c, j) => { if (!sizes.has(c) || sizes.get(c) === 1) sizes.set(c, s[j]); });
    [...after].forEach((c, j) => { if (!sizes.has(c) || sizes.get(c) === 1) sizes.set(c, s[s.length - after.length + j]); });
  });
  let rhs = rhsRaw;
  if (rhs === undefined) {
    const counts = new Map<string, number>();
    for (const c of lhs.replace(/[,.]/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    rhs = (lhs.includes('...') ? '...' : '') + [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join('');
  }
  const out: Dim[] = [];
  const parts = rhs.split('...');
  for (const c of parts[0]) out.push(sizes.get(c) ?? null);
  if (parts.length > 1) { out.push(...ellipsis); for (const c of parts[1]) out.push(sizes.get(c) ?? null); }
  return out;
}

function sliceDim(d: Dim, start: number, end: number, step: number): Dim {
  if (isKnown(d)) {
    const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
    let s = start < 0 ? start + d : start;
    let e = end < 0 ? end + d : end;
    if (step > 0) { s = clamp(s, 0, d); e = clamp(e, 0, d); return Math.max(0, Math.ceil((e - s) / step)); }
    s = clamp(s, -1, d - 1); e = clamp(e, -1, d - 1);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  if (step === 1 && start === 0 && end >= 2 ** 31 - 1) return d;
  if (step === -1 && start === -1 && end <= -(2 ** 31)) return d;
  return null;
}

/** Per-element arithmetic on tracked integer contents. */
function elementwise(a: Dim[], b: Dim[], f: (x: Dim, y: Dim) => Dim): Dim[] | null {
  if (a.length !== b.length && a.length !== 1 && b.length !== 1) return null;
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => f(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]));
}

interface Inferred { outputs: (TypeInfo | null)[]; values?: (Dim[] | null)[] }

function inferNode(node: NodeProto, t: ShapeTable): Inferred {
  const op = node.opType ?? '';
  const ins = node.input ?? [];
  const S = (i: number): Dim[] | null => (ins[i] ? t.shape(ins[i]) : null);
  const T = (i: number): DTypeName | null => (ins[i] ? t.dtype(ins[i]) : null);
  const V = (i: number): Dim[] | null => (ins[i] ? t.values.get(ins[i]) ?? null : null);
  const one = (dtype: DTypeName | null, shape: Dim[] | null, values?: Dim[] | null): Inferred => ({ outputs: [{ dtype, shape }], values: [values ?? null] });
  const opset = t.opset;

  if (SAME_SHAPE.has(op)) {
    const outs: TypeInfo[] = [{ dtype: BOOL_OUT.has(op) ? 'bool' : T(0), shape: S(0) }];
    return { outputs: outs };
  }
  if (BROADCAST.has(op)) {
    const idx = op === 'Where' ? [1, 2, 0] : ins.map((_, i) => i);
    const shapes = idx.map(S);
    const shape = shapes.every((s) => s) ? broadcastShapes(shapes as Dim[][]) : null;
    const dtype = BOOL_OUT.has(op) ? 'bool' : op === 'Where' ? T(1) : T(0);
    let values: Dim[] | null = null;
    const a = V(0), b = V(1);
    if (a && b && ins.length === 2) {
      if (op === 'Add') values = elementwise(a, b, addDim);
      else if (op === 'Mul') values = elementwise(a, b, mulDim);
      else if (op === 'Sub') values = elementwise(a, b, (x, y) => (isKnown(x) && isKnown(y) ? x - y : y === 0 ? x : null));
      else if (op === 'Div') values = elementwise(a, b, (x, y) => (isKnown(x) && isKnown(y) ? Math.trunc(x / y) : divDim(x, y)));
      else if (op === 'Equal') values = elementwise(a, b, (x, y) => (isKnown(x) && isKnown(y) ? Number(x === y) : null));
      else if (op === 'Max') values = elementwise(a, b, (x, y) => (isKnown(x) && isKnown(y) ? Math.max(x, y) : null));
      else if (op === 'Min') values = elementwise(a, b, (x, y) => (isKnown(x) && isKnown(y) ? Math.min(x, y) : null));
    }
    if (op === 'Where') {
      const c = V(0), x = V(1), y = V(2);
      if (c && x && y && c.every(isKnown)) {
        const n = Math.max(c.length, x.length, y.length);
        values = Array.from({ length: n }, (_, i) => (c[c.length === 1 ? 0 : i] ? x[x.length === 1 ? 0 : i] : y[y.length === 1 ? 0 : i]));
      }
    }
    return one(dtype, shape, values);
  }

  switch (op) {
    case 'Constant': {
      const h = constantNodeValue(node);
      if (!h) return one(null, null);
      return one(h.dtype, h.dims, hostToDims(h));
    }
    case 'Shape': {
      const s = S(0);
      if (!s) return one('int64', null);
      let start = attr<number>(node, 'start', 0), end = attr<number>(node, 'end', s.length);
      start = Math.max(0, Math.min(s.length, normAxis(start, s.length)));
      end = Math.max(0, Math.min(s.length, normAxis(end, s.length)));
      const v = s.slice(start, Math.max(start, end));
      return one('int64', [v.length], v);
    }
    case 'Size': { const s = S(0); return one('int64', [], s ? [prodDims(s)] : null); }
    case 'Cast': {
      const to = dtypeName(attr<number>(node, 'to', 1));
      return one(to, S(0), V(0));
    }
    case 'CastLike': return one(T(1), S(0), V(0));
    case 'Dropout': {
      const s = S(0);
      return { outputs: [{ dtype: T(0), shape: s }, { dtype: 'bool', shape: s }] };
    }
    case 'LayerNormalization': {
      const s = S(0);
      const axis = attr<number>(node, 'axis', -1);
      const stat = s ? s.map((d, i) => (i >= normAxis(axis, s.length) ? 1 : d)) : null;
      const statType = attr<number>(node, 'stash_type', 1) === 1 ? 'float32' : T(0);
      return { outputs: [{ dtype: T(0), shape: s }, { dtype: statType, shape: stat }, { dtype: statType, shape: stat }] };
    }
    case 'MatMul': {
      const a = S(0), b = S(1);
      if (!a || !b) return one(T(0), null);
      if (a.length === 1 && b.length === 1) return one(T(0), []);
      const a2 = a.length === 1 ? [1, a[0]] : a;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
      const out = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
      return one(T(0), out);
    }
    case 'Gemm': {
      const a = S(0), b = S(1);
      if (!a || !b) return one(T(0), [null, null]);
      const m = attr<number>(node, 'transA', 0) ? a[1] : a[0];
      const n = attr<number>(node, 'transB', 0) ? b[0] : b[1];
      return one(T(0), [m, n]);
    }
    case 'Conv': case 'MaxPool': case 'AveragePool': case 'LpPool': {
      const x = S(0);
      const shape = x ? convLike(node, x, S(1), false) : null;
      const outs: TypeInfo[] = [{ dtype: T(0), shape }];
      if (op === 'MaxPool') outs.push({ dtype: 'int64', shape });
      return { outputs: outs };
    }
    case 'ConvTranspose': { const x = S(0); return one(T(0), x ? convLike(node, x, S(1), true) : null); }
    case 'GlobalAveragePool': case 'GlobalMaxPool': { const x = S(0); return one(T(0), x ? x.map((d, i) => (i < 2 ? d : 1)) : null); }
    case 'ReduceSum': case 'ReduceMean': case 'ReduceMax': case 'ReduceMin': case 'ReduceProd': case 'ReduceL1': case 'ReduceL2':
    case 'ReduceSumSquare': case 'ReduceLogSum': case 'ReduceLogSumExp': case 'ArgMax': case 'ArgMin': {
      const x = S(0);
      const keep = attr<number>(node, 'keepdims', 1);
      const dtype = op.startsWith('Arg') ? 'int64' : T(0);
      if (!x) return one(dtype, null);
      let axes: number[] | null | undefined;
      if (op.startsWith('Arg')) axes = [attr<number>(node, 'axis', 0)];
      else axes = axesOf(node, t, 1);
      if (axes === null) return one(dtype, keep ? x.map(() => null) : null);
      if (axes === undefined || axes.length === 0) {
        if (attr<number>(node, 'noop_with_empty_axes', 0) && !op.startsWith('Arg')) return one(dtype, x, V(0));
        axes = x.map((_, i) => i);
      }
      const set = new Set(axes.map((a) => normAxis(a, x.length)));
      const shape = keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i));
      let values: Dim[] | null = null;
      if (op === 'ReduceProd' && x.length === 1 && !keep) { const v = V(0); if (v) values = [prodDims(v)]; }
      return one(dtype, shape, values);
    }
    case 'Transpose': {
      const x = S(0);
      if (!x) return one(T(0), null);
      const perm = attr<number[]>(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return one(T(0), perm.map((p) => x[p]));
    }
    case 'Reshape': {
      const x = S(0);
      const target = V(1);
      const targetShape = S(1);
      if (!target) return one(T(0), targetShape && isKnown(targetShape[0]) ? Array(targetShape[0]).fill(null) : null);
      const allowZero = attr<number>(node, 'allowzero', 0);
      const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (x ? x[i] ?? null : null) : d));
      const neg = out.indexOf(-1);
      if (neg >= 0) {
        const rest = out.filter((_, i) => i !== neg);
        out[neg] = x ? divDim(prodDims(x), prodDims(rest)) : null;
      }
      const vals = V(0);
      return one(T(0), out, vals);
    }
    case 'Flatten': {
      const x = S(0);
      if (!x) return one(T(0), [null, null]);
      const a = normAxis(attr<number>(node, 'axis', 1), x.length);
      return one(T(0), [prodDims(x.slice(0, a)), prodDims(x.slice(a))]);
    }
    case 'Squeeze': {
      const x = S(0);
      const axes = opset >= 13 ? (ins[1] ? t.intValues(ins[1]) : undefined) : attr<number[]>(node, 'axes');
      if (!x) return one(T(0), null, V(0));
      if (axes === null) return one(T(0), null);
      if (axes === undefined) return one(T(0), x.every((d) => d !== null) ? x.filter((d) => d !== 1) : null, V(0));
      const set = new Set(axes.map((a) => normAxis(a, x.length)));
      return one(T(0), x.filter((_, i) => !set.has(i)), V(0));
    }
    case 'Unsqueeze': {
      const x = S(0);
      const axes = opset >= 13 ? (ins[1] ? t.intValues(ins[1]) : null) : attr<number[]>(node, 'axes') ?? null;
      if (!x || !axes) return one(T(0), null, V(0));
      const r = x.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, r)));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : x[j++]);
      return one(T(0), out, V(0));
    }
    case 'Concat': {
      const shapes = ins.map((_, i) => S(i));
      const axis = attr<number>(node, 'axis', 0);
      let shape: Dim[] | null = null;
      const known = shapes.filter((s): s is Dim[] => !!s);
      if (known.length > 0) {
        const r = known[0].length;
        const a = normAxis(axis, r);
        shape = known[0].map((d, i) => {
          if (i === a) return shapes.every((s) => s) ? shapes.reduce<Dim>((acc, s) => addDim(acc, s![i]), 0) : null;
          const ds = known.map((s) => s[i]);
          return ds.find(isKnown) ?? ds.find((x) => x !== null) ?? null;
        });
      }
      const vals = ins.map((_, i) => V(i));
      return one(T(0), shape, vals.every((v) => v) ? (vals as Dim[][]).flat() : null);
    }
    case 'Split': {
      const x = S(0);
      const n = node.output?.length ?? 1;
      const axis = attr<number>(node, 'axis', 0);
      let split: number[] | null | undefined = opset >= 13 ? (ins[1] ? t.intValues(ins[1]) : undefined) : attr<number[]>(node, 'split');
      if (!x) return { outputs: Array(n).fill({ dtype: T(0), shape: null }) };
      const a = normAxis(axis, x.length);
      const d = x[a];
      if (split === undefined && isKnown(d)) {
        const chunk = Math.ceil(d / n);
        split = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
      }
      return {
        outputs: Array.from({ length: n }, (_, i) => ({
          dtype: T(0),
          shape: x.map((dd, j) => (j !== a ? dd : split ? split[i] : split === undefined ? divDim(d, n) : null)),
        })),
      };
    }
    case 'Slice': {
      const x = S(0);
      const starts = t.intValues(ins[1] ?? ''), ends = t.intValues(ins[2] ?? '');
      const axesV = ins[3] ? t.intValues(ins[3]) : undefined;
      const steps = ins[4] ? t.intValues(ins[4]) : undefined;
      if (!x) return one(T(0), null);
      if (!starts || !ends || axesV === null || steps === null) {
        const axes = axesV ?? (starts ? starts.map((_, i) => i) : null);
        if (!axes) return one(T(0), x.map(() => null));
        const set = new Set(axes.map((a) => normAxis(a, x.length)));
        return one(T(0), x.map((d, i) => (set.has(i) ? null : d)));
      }
      const axes = axesV ?? starts.map((_, i) => i);
      const out = [...x];
      axes.forEach((ax, i) => {
        const a = normAxis(ax, x.length);
        out[a] = sliceDim(x[a], starts[i], ends[i], steps ? steps[i] : 1);
      });
      const v = V(0);
      let values: Dim[] | null = null;
      if (v && x.length === 1 && isKnown(out[0]) && isKnown(x[0])) {
        const st = steps ? steps[0] : 1;
        let s = starts[0] < 0 ? starts[0] + x[0] : starts[0];
        s = st > 0 ? Math.max(0, Math.min(x[0], s)) : Math.max(-1, Math.min(x[0] - 1, s));
        values = Array.from({ length: out[0] as number }, (_, i) => v[s + i * st]);
      }
      return one(T(0), out, values);
    }
    case 'Gather': {
      const x = S(0), idx = S(1);
      if (!x || !idx) return one(T(0), null);
      const a = normAxis(attr<number>(node, 'axis', 0), x.length);
      const shape = [...x.slice(0, a), ...idx, ...x.slice(a + 1)];
      const v = V(0), iv = t.intValues(ins[1]);
      let values: Dim[] | null = null;
      if (v && iv && x.length === 1) values = iv.map((i) => v[i < 0 ? i + v.length : i]);
      return one(T(0), shape, values);
    }
    case 'GatherElements': return one(T(0), S(1));
    case 'GatherND': {
      const x = S(0), idx = S(1);
      const b = attr<number>(node, 'batch_dims', 0);
      if (!x || !idx || !isKnown(idx[idx.length - 1])) return one(T(0), null);
      const k = idx[idx.length - 1] as number;
      return one(T(0), [...idx.slice(0, -1), ...x.slice(b + k)]);
    }
    case 'Expand': {
      const x = S(0);
      const target = V(1);
      const ts = S(1);
      if (!x) return one(T(0), null);
      if (!target) return one(T(0), ts && isKnown(ts[0]) ? Array(Math.max(ts[0], x.length)).fill(null) : null);
      // -1 or 1 in the target keeps the input's size
      return one(T(0), broadcastShapes([x, target.map((d) => (d === -1 ? 1 : d))]));
    }
    case 'Tile': {
      const x = S(0), reps = V(1);
      if (!x) return one(T(0), null);
      return one(T(0), reps ? x.map((d, i) => mulDim(d, reps[i])) : x.map(() => null));
    }
    case 'Pad': {
      const x = S(0);
      if (!x) return one(T(0), null);
      const pads = opset >= 11 ? t.intValues(ins[1] ?? '') : attr<number[]>(node, 'pads') ?? null;
      const axes = ins[3] ? t.intValues(ins[3]) : x.map((_, i) => i);
      if (!pads || !axes) return one(T(0), x.map(() => null));
      const out = [...x];
      axes.forEach((ax, i) => {
        const a = normAxis(ax, x.length);
        out[a] = addDim(x[a], pads[i] + pads[i + axes.length]);
      });
      return one(T(0), out);
    }
    case 'Resize': case 'Upsample': {
      const x = S(0);
      if (!x) return one(T(0), null);
      const sizesName = op === 'Resize' ? ins[3] : undefined;
      const scalesName = op === 'Resize' ? ins[2] : ins[1];
      const sizes = sizesName ? t.intValues(sizesName) : null;
      if (sizes) return one(T(0), sizes);
      const sc = scalesName ? t.constant(scalesName) : null;
      if (sc && sc.data.length === x.length) {
        const s = Array.from(sc.data as Float32Array, Number);
        return one(T(0), x.map((d, i) => (s[i] === 1 ? d : Number.isInteger(s[i]) ? mulDim(d, s[i]) : isKnown(d) ? Math.floor(d * s[i]) : null)));
      }
      return one(T(0), x.map(() => null));
    }
    case 'ConstantOfShape': {
      const shape = V(0);
      const s0 = S(0);
      const valueT = attr<TensorProto>(node, 'value');
      const h = valueT ? readTensorProto(valueT) : null;
      const dtype = h ? h.dtype : 'float32';
      const outShape = shape ?? (s0 && isKnown(s0[0]) ? Array(s0[0]).fill(null) : null);
      let values: Dim[] | null = null;
      if (shape && shape.length <= 1 && isKnown(shape[0] ?? 1) && h && (shape[0] ?? 1) as number <= MAX_TRACKED) {
        const hv = hostToDims(h);
        if (hv) values = Array((shape[0] ?? 1) as number).fill(hv[0]);
      }
      return one(dtype, outShape, values);
    }
    case 'Range': {
      const s = t.intValues(ins[0]), l = t.intValues(ins[1]), d = t.intValues(ins[2]);
      if (s && l && d) {
        const n = Math.max(0, Math.ceil((l[0] - s[0]) / d[0]));
        return one(T(0), [n], n <= MAX_TRACKED ? Array.from({ length: n }, (_, i) => s[0] + i * d[0]) : null);
      }
      return one(T(0), [null]);
    }
    case 'Einsum': return one(T(0), einsumShape(attr<string>(node, 'equation', ''), ins.map((_, i) => S(i))));
    case 'TopK': {
      const x = S(0), k = t.intValues(ins[1] ?? '');
      if (!x) return { outputs: [{ dtype: T(0), shape: null }, { dtype: 'int64', shape: null }] };
      const a = normAxis(attr<number>(node, 'axis', -1), x.length);
      const shape = x.map((d, i) => (i === a ? (k ? k[0] : null) : d));
      return { outputs: [{ dtype: T(0), shape }, { dtype: 'int64', shape }] };
    }
    case 'NonZero': { const x = S(0); return one('int64', [x ? x.length : null, null]); }
    case 'OneHot': return one(T(2), null);
    default: return { outputs: (node.output ?? []).map(() => null) };
  }
}

/** Declared info for a value: prefer our structural dims, fall back to the declared ones per dim. */
function merge(inferred: TypeInfo | null, declared: TypeInfo | undefined): TypeInfo | null {
  if (!declared) return inferred;
  if (!inferred) return declared;
  const dtype = inferred.dtype ?? declared.dtype;
  if (!inferred.shape) return { dtype, shape: declared.shape };
  if (!declared.shape || declared.shape.length !== inferred.shape.length) return { dtype, shape: inferred.shape };
  const shape = inferred.shape.map((d, i) => {
    const dd = declared.shape![i];
    if (isKnown(d)) return d;
    if (isKnown(dd)) return dd;
    return d ?? dd;
  });
  return { dtype, shape };
}

export function inferShapes(graph: GraphProto, opset: number, readExternal?: ExternalDataReader): ShapeTable {
  const t = new ShapeTable(opset, readExternal);
  const declared = new Map<string, TypeInfo>();
  for (const v of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const vt = valueType(v);
    if (vt && v.name) declared.set(v.name, { dtype: vt.dtype, shape: vt.shape });
  }
  for (const v of graph.input ?? []) {
    const vt = valueType(v);
    if (vt && v.name) t.set(v.name, { dtype: vt.dtype, shape: vt.shape });
  }
  for (const init of graph.initializer ?? []) {
    if (!init.name) continue;
    const dims = (init.dims ?? []).map(Number);
    t.set(init.name, { dtype: dtypeName(init.dataType ?? 1), shape: dims });
    t.registerConstant(init.name, init);
    const n = dims.reduce((a, b) => a * b, 1);
    if (n <= MAX_TRACKED && (init.dataType === onnx.TensorProto.DataType.INT64 || init.dataType === onnx.TensorProto.DataType.INT32)) {
      const h = t.constant(init.name);
      const v = h ? hostToDims(h) : null;
      if (v) t.values.set(init.name, v);
    }
  }
  for (const node of topologicalOrder(graph)) {
    let res: Inferred;
    try {
      res = inferNode(node, t);
    } catch {
      res = { outputs: [] };
    }
    (node.output ?? []).forEach((o, i) => {
      if (!o) return;
      const info = merge(res.outputs[i] ?? null, declared.get(o));
      if (info) t.set(o, info);
      const v = res.values?.[i];
      if (v && v.length <= MAX_TRACKED) t.values.set(o, v);
    });
    if (node.opType === 'Constant' && node.output?.[0]) {
      const h = constantNodeValue(node);
      if (h) t.registerConstantValue(node.output[0], h);
    }
  }
  return t;
}
