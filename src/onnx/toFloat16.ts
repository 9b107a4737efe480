// float32 → float16 compute: float initializers, Constants and value types become float16, and
// Casts keep three kinds of places in float32: the graph's inputs and outputs (the app feeds
// and reads float32), the nodes kept in float32 (numerically sensitive ops, ops without a
// float16 kernel) and the inputs the spec types as float whatever the data is (Resize's roi
// and scales). Integer and bool values are never touched. The dtype of a value the graph does
// not declare is inferred node by node, so exports without value_info convert too.
import { onnx, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto';
import { readTensorProto, tensorDims, type ExternalDataReader } from './tensor';
import { float32ToFloat16 } from './float16';
import { attr, consumers, topologicalOrder } from './graph';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const INT64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;

/**
 * Kept in float32 by default. Normalizations: their reductions over thousands of values lose
 * too much in float16 (GroupNorm exports as InstanceNormalization). Measured on the committed
 * fixtures the relative output error is ~1e-3 with or without them (small random weights);
 * they are kept for the ranges of real activations, where float16 overflows at 65504. Sin/Cos: the timestep
 * embedding multiplies t ≤ 999 by frequencies, and float16 (ulp 0.5 at 999) would shift the
 * angle by radians. Sources of random or generated floats have no float16 use here.
 */
export const DEFAULT_FP32_OPS: readonly string[] = [
  'InstanceNormalization', 'LayerNormalization', 'GroupNormalization', 'SimplifiedLayerNormalization',
  // LayerNorm as torch exports it at opset < 17 (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt,
  // Div): the square of a deviation over 256 overflows float16, so the variance stays float32
  'ReduceMean', 'Pow', 'Sqrt',
  'Sin', 'Cos',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'EyeLike',
];

/**
 * Cheap elementwise/shape ops that join the float32 region when every float value they produce
 * only feeds float32 nodes: the timestep's frequencies (Range → Mul → Div → Exp → Mul → Sin)
 * then stay float32 all the way, instead of being rounded to float16 just before Sin.
 */
const FOLLOWS_FP32_CONSUMERS = new Set([
  'Mul', 'Div', 'Add', 'Sub', 'Neg', 'Exp', 'Log', 'Range', 'Unsqueeze', 'Squeeze', 'Reshape', 'Expand',
  'Slice', 'Concat', 'Gather', 'Identity', 'Transpose', 'Flatten', 'Cast',
]);

/** Inputs typed tensor(float) by the spec whatever the data's type: they stay float32. */
const FLOAT32_SLOTS: Record<string, readonly number[]> = { Resize: [1, 2], Upsample: [1] };

export interface Float16Options {
  /** graph inputs and outputs keep float32 (a Cast after each input, before each output); only true is supported */
  keepIoTypes: true;
  /** op types kept in float32 (default DEFAULT_FP32_OPS) */
  blockOps?: readonly string[];
  /** further nodes kept in float32 */
  blockNodes?: (node: NodeProto) => boolean;
  /** for float32 initializers whose bytes are external */
  readExternal?: ExternalDataReader;
}

export interface Float16Report {
  /** nodes that compute in float32 (blocked and the ones joining them), by op type */
  fp32Nodes: Map<string, number>;
  /** their names */
  fp32NodeNames: Set<string>;
  /** Casts the pass added */
  castsAdded: number;
  /** initializers converted to float16 */
  initializersConverted: number;
}

/** Returns a new model; `model` is not changed (initializers not converted are shared). */
export function convertToFloat16(model: ModelProto, opts: Float16Options): ModelProto {
  return convertToFloat16WithReport(model, opts).model;
}

export function convertToFloat16WithReport(model: ModelProto, opts: Float16Options): { model: ModelProto; report: Float16Report } {
  if (opts.keepIoTypes !== true) throw new Error('convertToFloat16: only keepIoTypes: true is supported (the app feeds and reads float32)');
  const graph = model.graph!;
  for (const n of graph.node ?? []) {
    if ((n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length)) throw new Error(`convertToFloat16: node ${n.name} (${n.opType}) has a subgraph; not supported`);
  }
  const nodes = topologicalOrder(graph);
  const dtypes = inferDtypes(graph, nodes);
  const isFloat = (v: string) => dtypes.get(v) === FLOAT;
  const blockOps = new Set(opts.blockOps ?? DEFAULT_FP32_OPS);
  const fp32Nodes = new Set(nodes.filter((n) => blockOps.has(n.opType ?? '') || (opts.blockNodes?.(n) ?? false)));

  const cons = consumers(graph);
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name!));
  // Grow the float32 region backwards through cheap ops whose float outputs only feed it.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (fp32Nodes.has(n) || !FOLLOWS_FP32_CONSUMERS.has(n.opType ?? '')) continue;
    const floatOuts = (n.output ?? []).filter(isFloat);
    if (!floatOuts.length || floatOuts.some((o) => graphOutputs.has(o))) continue;
    const all = floatOuts.flatMap((o) => cons.get(o) ?? []);
    if (all.length && all.every((c) => fp32Nodes.has(c))) fp32Nodes.add(n);
  }

  const wantsFp32 = (n: NodeProto, slot: number) => fp32Nodes.has(n) || (FLOAT32_SLOTS[n.opType ?? ''] ?? []).includes(slot);
  // What each float consumer needs; Cast takes any dtype.
  const needs = (v: string): ('fp32' | 'fp16')[] => (cons.get(v) ?? []).flatMap((c) => (c.input ?? []).flatMap((name, slot) => (name === v && c.opType !== 'Cast' ? [wantsFp32(c, slot) ? 'fp32' as const : 'fp16' as const] : [])));

  // The dtype each float value has after conversion.
  const now = new Map<string, number>();
  const inputNames = new Set((graph.input ?? []).map((i) => i.name!));
  for (const name of inputNames) if (isFloat(name)) now.set(name, FLOAT);
  const initializer = (graph.initializer ?? []).map((t) => {
    if (t.dataType !== FLOAT) return t;
    const uses = needs(t.name!);
    if (uses.length && uses.every((u) => u === 'fp32')) { now.set(t.name!, FLOAT); return t; }
    now.set(t.name!, FLOAT16);
    return tensorToFloat16(t, opts.readExternal);
  });
  const converted = initializer.filter((t, i) => t !== graph.initializer![i]).length;
  for (const t of graph.initializer ?? []) if (t.dataType === FLOAT16) now.set(t.name!, FLOAT16);

  const out: NodeProto[] = [];
  const castCache = new Map<string, string>();
  let castsAdded = 0;
  const castTo = (v: string, to: number): string => {
    const key = `${v}|${to}`;
    const hit = castCache.get(key);
    if (hit) return hit;
    const suffix = to === FLOAT16 ? 'fp16' : 'fp32';
    const name = `${v}::${suffix}`;
    out.push(castNode(`/float16/${v}/Cast_${suffix}`, v, name, to));
    castsAdded++;
    castCache.set(key, name);
    return name;
  };

  for (const n of nodes) {
    const fp32 = fp32Nodes.has(n);
    let node: NodeProto = { ...n };
    if (n.opType === 'Constant' && isFloat(n.output![0])) {
      const uses = needs(n.output![0]);
      const keep = uses.length > 0 && uses.every((u) => u === 'fp32');
      now.set(n.output![0], keep ? FLOAT : FLOAT16);
      if (!keep) node = { ...n, attribute: [constantValueFloat16(n)] };
      out.push(node);
      continue;
    }
    if (n.opType !== 'Cast') {
      node.input = (n.input ?? []).map((v, slot) => {
        if (!v || !now.has(v)) return v;
        const want = wantsFp32(n, slot) ? FLOAT : FLOAT16;
        return now.get(v) === want ? v : castTo(v, want);
      });
    }
    if (!fp32 && n.opType === 'Cast' && attr<number>(n, 'to') === FLOAT) {
      node.attribute = (n.attribute ?? []).map((a) => (a.name === 'to' ? { ...a, i: FLOAT16 } : a));
    }
    if (!fp32 && n.opType === 'ConstantOfShape' && isFloat(n.output![0])) {
      node.attribute = [...(n.attribute ?? []).filter((a) => a.name !== 'value'), constantOfShapeValueFloat16(n)];
    }
    for (const o of n.output ?? []) if (o && isFloat(o)) now.set(o, fp32 ? FLOAT : FLOAT16);
    out.push(node);
  }

  // Graph outputs computed in float16: the producer writes `<name>::fp16`, a Cast gives the name.
  const renames = new Map<string, string>();
  for (const o of graph.output ?? []) {
    if (isFloat(o.name!) && now.get(o.name!) === FLOAT16 && !inputNames.has(o.name!)) renames.set(o.name!, `${o.name}::fp16_out`);
  }
  const final = out.map((n) => (renames.size ? { ...n, input: (n.input ?? []).map((v) => renames.get(v) ?? v), output: (n.output ?? []).map((v) => renames.get(v) ?? v) } : n));
  for (const [name, inner] of renames) {
    final.push(castNode(`/float16/${name}/Cast_output`, inner, name, FLOAT));
    castsAdded++;
    now.set(inner, FLOAT16);
  }
  const initOut = initializer.map((t) => (renames.has(t.name!) ? { ...t, name: renames.get(t.name!) } : t));

  const retype = (v: ValueInfoProto): ValueInfoProto => {
    const name = renames.get(v.name!) ?? v.name!;
    const to = now.get(name);
    if (!to || v.type?.tensorType?.elemType !== FLOAT || to === FLOAT) return name === v.name ? v : { ...v, name };
    return { ...v, name, type: { ...v.type, tensorType: { ...v.type.tensorType, elemType: to } } };
  };
  const fp32Ops = new Map<string, number>();
  for (const n of fp32Nodes) if ((n.output ?? []).some(isFloat)) fp32Ops.set(n.opType!, (fp32Ops.get(n.opType!) ?? 0) + 1);
  const newGraph: GraphProto = {
    ...graph,
    node: final,
    initializer: initOut,
    valueInfo: (graph.valueInfo ?? []).map(retype),
  };
  return {
    model: { ...model, graph: newGraph },
    report: {
      fp32Nodes: new Map([...fp32Ops].sort(([a], [b]) => a.localeCompare(b))),
      fp32NodeNames: new Set([...fp32Nodes].filter((n) => (n.output ?? []).some(isFloat)).map((n) => n.name!)),
      castsAdded, initializersConverted: converted },
  };
}

function castNode(name: string, input: string, output: string, to: number): NodeProto {
  return onnx.NodeProto.create({
    name, opType: 'Cast', domain: '', input: [input], output: [output],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  });
}

function float16Tensor(name: string | null | undefined, dims: number[], values: Float32Array): TensorProto {
  const half = float32ToFloat16(values);
  return onnx.TensorProto.create({ ...(name ? { name } : {}), dataType: FLOAT16, dims, rawData: new Uint8Array(half.buffer) });
}

function tensorToFloat16(t: TensorProto, readExternal?: ExternalDataReader): TensorProto {
  const host = readTensorProto(t, readExternal);
  if (host.dtype !== 'float32') throw new Error(`tensor ${t.name} is ${host.dtype}, not float32`);
  return float16Tensor(t.name, tensorDims(t), host.data as Float32Array);
}

function constantValueFloat16(n: NodeProto): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const a = (n.attribute ?? [])[0];
  let tensor: TensorProto;
  if (a?.name === 'value' && a.t) tensor = tensorToFloat16(a.t);
  else if (a?.name === 'value_float') tensor = float16Tensor(null, [], Float32Array.of(a.f ?? 0));
  else if (a?.name === 'value_floats') tensor = float16Tensor(null, [(a.floats ?? []).length], Float32Array.from(a.floats ?? []));
  else throw new Error(`Constant ${n.name}: cannot convert attribute ${a?.name} to float16`);
  return { name: 'value', type: T.TENSOR, t: tensor };
}

function constantOfShapeValueFloat16(n: NodeProto): AttributeProto {
  const a = (n.attribute ?? []).find((x) => x.name === 'value');
  const value = a?.t ? (readTensorProto(a.t).data as Float32Array) : Float32Array.of(0);
  return { name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: float16Tensor(null, [1], value) };
}

/** Element type of every value: declared where the graph declares it, otherwise inferred from the op. */
export function inferDtypes(graph: GraphProto, order: NodeProto[] = topologicalOrder(graph)): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const e = v.type?.tensorType?.elemType;
    if (e) m.set(v.name!, e);
  }
  for (const t of graph.initializer ?? []) m.set(t.name!, t.dataType ?? 0);
  const known = (v: string | undefined) => (v ? m.get(v) : undefined);
  for (const n of order) {
    const op = n.opType ?? '';
    const ins = n.input ?? [];
    const first = ins.map(known).find((d) => d !== undefined);
    (n.output ?? []).forEach((o, k) => {
      if (!o || m.has(o)) return;
      const d = outputDtype(n, op, k, ins, known, first);
      if (d !== undefined) m.set(o, d);
    });
  }
  return m;
}

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);

function outputDtype(n: NodeProto, op: string, k: number, ins: string[], known: (v: string | undefined) => number | undefined, first: number | undefined): number | undefined {
  if (op === 'Cast') return attr<number>(n, 'to');
  if (op === 'CastLike') return known(ins[1]);
  if (op === 'Constant') {
    const a = (n.attribute ?? [])[0];
    if (a?.t) return a.t.dataType ?? undefined;
    if (a?.name === 'value_float' || a?.name === 'value_floats') return FLOAT;
    if (a?.name === 'value_int' || a?.name === 'value_ints') return INT64;
    return undefined;
  }
  if (op === 'ConstantOfShape') return ((n.attribute ?? []).find((a) => a.name === 'value')?.t?.dataType) ?? FLOAT;
  if (INT64_OPS.has(op)) return INT64;
  if (BOOL_OPS.has(op)) return BOOL;
  if (op === 'Where') return known(ins[1]) ?? known(ins[2]);
  if (op === 'EyeLike' || op === 'RandomNormal' || op === 'RandomUniform') return attr<number>(n, 'dtype', FLOAT);
  if (op === 'RandomNormalLike' || op === 'RandomUniformLike') return attr<number>(n, 'dtype') ?? first;
  if ((op === 'MaxPool' || op === 'TopK') && k === 1) return INT64;
  if (op === 'Dropout' && k === 1) return BOOL;
  return first;
}

