// Train graphs that hold each weight once. onnxruntime folds every node whose inputs are all
// constant into a new initializer when a session is created: a gradient's Transpose(W), and in a
// float16 pack the Cast(W::fp16) to float32 of every weight, become full copies that the session
// keeps beside the weights (SD1.5 at float16: 620 MiB of transposes; a float16 pack's train
// graph held float32 copies of all 1.7 GB). Here each such constant chain is computed where it is
// used instead, from its weights reshaped to their own dims computed from `0·t₀` (t₀: the first
// element of a value the consuming node reads anyway): no longer constant, so nothing is folded,
// and the chain cannot run before its consumer's other input exists, so its result lives only
// around that one node.
// The same trick keeps recomputed activations from being hoisted (src/autodiff/recompute.ts).
import { inferShapes } from '../autodiff/shapes';
import { isFloat } from '../autodiff/shapeTable';
import { dtypeCode, makeValueInfo, onnx, opsetVersion, type ValueInfoProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx';

export interface WeightsOnceResult {
  model: ModelProto;
  /** consumers that now compute their constant chain in place of a folded copy */
  rerouted: number;
}

/** Constant chains smaller than this stay foldable (shape arithmetic, scalars); 256 float32 = the 1 KiB from which --fp16 stores float16. */
const MIN_ELEMENTS = 256;

export function holdWeightsOnce(model: ModelProto): WeightsOnceResult {
  const graph = model.graph!;
  const opset = opsetVersion(model);
  const shapes = inferShapes(graph, opset);
  const stored = new Set<string>((graph.initializer ?? []).map((t) => t.name!));
  for (const n of graph.node ?? []) if (n.opType === 'Constant') stored.add(n.output![0]);
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) producer.set(o, n);

  const constant = new Set(stored);
  const folded = new Set<NodeProto>();
  for (const n of graph.node ?? []) {
    if (n.opType === 'Constant' || !(n.input ?? []).every((x) => !x || constant.has(x))) continue;
    folded.add(n);
    for (const o of n.output ?? []) if (o) constant.add(o);
  }
  const size = (x: string) => (shapes.staticShape(x) ?? [0]).reduce((a, b) => a * b, 1);

  const used = new Set<string>([...(graph.node ?? []).flatMap((n) => [...(n.output ?? []), n.name ?? '']), ...stored]);
  // the first unused of base, base_1, base_2, …; the search resumes where the last one for the
  // same base ended (the ones before it are all taken), else thousands of `weights_once/ints`
  // made this quadratic: 4 s of a --fp16 SD1.5 train graph
  const nextSuffix = new Map<string, number>();
  const fresh = (base: string) => {
    let s = base;
    let i = nextSuffix.get(base) ?? 1;
    if (used.has(s)) for (s = `${base}_${i}`; used.has(s); s = `${base}_${i}`) i++;
    nextSuffix.set(base, i);
    used.add(s);
    return s;
  };
  const extra: TensorProto[] = [];
  // the gated weights' shapes, declared: their dims are run-time values to a static inference
  const declared: ValueInfoProto[] = [];
  const scalar = (dtype: 'float32' | 'float16' | 'float64', value: number): string => {
    const name = fresh('weights_once/zero');
    const data = dtype === 'float16' ? new Uint8Array(2) : new Uint8Array(new Float32Array([value]).buffer);
    extra.push(onnx.TensorProto.create({ name, dataType: dtypeCode(dtype), dims: [], rawData: data }));
    return name;
  };
  const ints = (values: number[]): string => {
    const name = fresh('weights_once/ints');
    extra.push(onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) }));
    return name;
  };

  const out: NodeProto[] = [];
  let rerouted = 0;
  for (const n of graph.node ?? []) {
    if (folded.has(n)) { out.push(n); continue; }
    const chains = (n.input ?? []).map((x, i) => ({ x, i })).filter(({ x }) => x && constant.has(x) && !stored.has(x) && size(x) >= MIN_ELEMENTS);
    const trigger = (n.input ?? []).find((x) => x && !constant.has(x) && isFloat(shapes.dtype(x)));
    if (chains.length === 0 || !trigger) { out.push(n); continue; }
    const node = onnx.NodeProto.create({ ...n, input: [...(n.input ?? [])] });
    const prefix = fresh(`${n.name || n.opType}/weights_once`);
    // t₀·0, as a [1] tensor of the trigger's dtype
    const flat = fresh(`${prefix}/flat`);
    const first = fresh(`${prefix}/first`);
    const zero = fresh(`${prefix}/zero`);
    const triggerType = shapes.dtype(trigger) as 'float32' | 'float16' | 'float64';
    out.push(
      onnx.NodeProto.create({ name: `${prefix}/Reshape`, opType: 'Reshape', input: [trigger, ints([-1])], output: [flat] }),
      onnx.NodeProto.create({ name: `${prefix}/Slice`, opType: 'Slice', input: [flat, ints([0]), ints([1])], output: [first] }),
      onnx.NodeProto.create({ name: `${prefix}/Mul`, opType: 'Mul', input: [first, scalar(triggerType, 0)], output: [zero] }),
    );
    // the gate: a Reshape of W to its own dims, with the dims computed from t₀ at run time. A view
    // (no copy) in every dtype, where `W + 0` would be computed in float32 by the CPU EP for a
    // float16 W (it has no float16 Add)
    let zeroInt: string | null = null;
    const gate = (w: string, dims: number[]): string => {
      if (!zeroInt) {
        zeroInt = fresh(`${prefix}/zero_int64`);
        out.push(onnx.NodeProto.create({ name: `${prefix}/Cast`, opType: 'Cast', input: [zero], output: [zeroInt], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: dtypeCode('int64') }] }));
      }
      const shape = fresh(`${w}_dims_at_use`);
      const y = fresh(`${w}_gated`);
      out.push(
        onnx.NodeProto.create({ name: fresh(`${prefix}/dims`), opType: 'Add', input: [ints(dims), zeroInt], output: [shape] }),
        onnx.NodeProto.create({ name: fresh(`${prefix}/gate`), opType: 'Reshape', input: [w, shape], output: [y] }),
      );
      declared.push(makeValueInfo(y, shapes.dtype(w)!, dims));
      return y;
    };
    // clone each chain with its stored float weights gated
    const clones = new Map<string, string>();
    const cloneOf = (x: string): string => {
      if (clones.has(x)) return clones.get(x)!;
      let y: string;
      if (stored.has(x)) {
        const dims = shapes.staticShape(x);
        y = !isFloat(shapes.dtype(x)) || size(x) < MIN_ELEMENTS || !dims ? x : gate(x, dims);
      } else {
        const p = producer.get(x)!;
        const ins = (p.input ?? []).map((u) => (u ? cloneOf(u) : u));
        const outs = (p.output ?? []).map((o) => (o ? fresh(`${o}_at_use`) : o));
        out.push(onnx.NodeProto.create({ ...p, name: fresh(`${prefix}/${p.name || p.opType}`), input: ins, output: outs }));
        (p.output ?? []).forEach((o, k) => { if (o) clones.set(o, outs[k]); });
        y = clones.get(x)!;
      }
      clones.set(x, y);
      return y;
    };
    for (const { x, i } of chains) node.input![i] = cloneOf(x);
    out.push(node);
    rerouted++;
  }
  if (rerouted === 0) return { model, rerouted };
  // folded nodes nobody reads any more would still be folded into copies: drop them
  const read = new Set<string>((graph.output ?? []).map((o) => o.name!));
  const kept: NodeProto[] = [];
  for (const n of [...out].reverse()) {
    if (folded.has(n) && !(n.output ?? []).some((o) => read.has(o))) continue;
    kept.push(n);
    for (const x of n.input ?? []) if (x) read.add(x);
  }
  return { model: { ...model, graph: { ...graph, node: kept.reverse(), initializer: [...(graph.initializer ?? []), ...extra], valueInfo: [...(graph.valueInfo ?? []), ...declared] } }, rerouted };
}
