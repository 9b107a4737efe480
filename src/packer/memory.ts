// How much memory one run of a graph needs, read off the graph alone: the weights, the largest
// single tensor, and the peak of live bytes (weights, feeds and every intermediate from the node
// that makes it to the last node that reads it) along the order onnxruntime runs the nodes in.
// Shapes come from the autodiff's static inference with the symbolic dims bound, so the SD1.5
// numbers come from graphs whose weights were never materialised.
import { withFixedDims } from '../autodiff';
import { inferShapes } from '../autodiff/shapes';
import { bytesPerElement, dtypeName, opsetVersion, type DTypeName, type GraphProto, type ModelProto, type NodeProto } from '../onnx';

export interface GraphMemory {
  /** the constants the session holds: initializers and Constant nodes, after constant folding */
  weightsBytes: number;
  /** the part of weightsBytes that are copies the session makes when created: constant folding
   *  (Transpose(W), Cast(float16 W) …) and, on the CPU EP, NCHWc re-layouts of Conv weights */
  copiesBytes: number;
  /** the most bytes alive at once over the run, weights and feeds included */
  peakBytes: number;
  /** the largest single tensor (weight, feed or intermediate) */
  largestTensorBytes: number;
  largestTensor: string;
}

export interface MemoryOptions {
  /** sizes of the symbolic dims (batch, lora_rank, …) */
  dims?: Record<string, number>;
  /** count every float tensor at this dtype's width (default: each tensor's own dtype) */
  floatDtype?: 'float16' | 'float32';
  /** the execution provider whose weight copies to count (default 'webgpu') */
  ep?: 'cpu' | 'webgpu';
}

export class MemoryReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MemoryReportError';
  }
}

/**
 * The order onnxruntime's CPU executor runs the nodes in (ExecutionOrder::DEFAULT): GraphViewer
 * sorts by a reverse depth-first search from the leaf nodes (those no node reads from), in
 * post-order; the leaves are pushed in index order, so the last leaf is searched first, and a
 * node's producers are pushed in decreasing index order, so the lowest-indexed producer is
 * finished first (graph_viewer.cc NodeCompare, graph.cc ReverseDFSFrom). ORT's own graph
 * rewrites renumber some nodes, so this is the order of the graph as stored.
 */
export function ortExecutionOrder(graph: GraphProto): NodeProto[] {
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => { if (o) producer.set(o, i); }));
  const inputsOf = nodes.map((n) => [...new Set((n.input ?? []).map((x) => producer.get(x)).filter((p): p is number => p !== undefined))]);
  const read = new Array<boolean>(nodes.length).fill(false);
  for (const ins of inputsOf) for (const p of ins) read[p] = true;

  const stack: [number, boolean][] = [];
  nodes.forEach((_, i) => { if (!read[i]) stack.push([i, false]); });
  const visited = new Array<boolean>(nodes.length).fill(false);
  const order: NodeProto[] = [];
  while (stack.length) {
    const [i, leaving] = stack.pop()!;
    if (leaving) { order.push(nodes[i]); continue; }
    if (visited[i]) continue;
    visited[i] = true;
    stack.push([i, true]);
    for (const p of [...inputsOf[i]].sort((a, b) => b - a)) if (!visited[p]) stack.push([p, false]);
  }
  return order;
}

/** Ops onnxruntime's constant folding leaves alone (random draws). */
const UNFOLDABLE = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial']);
/** Ops whose output is a view of input 0 (onnxruntime's kernels declare Alias(0, 0)). */
const VIEW_OPS = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity']);
/** Ops whose output has as many elements as input 0. */
const UNARY_OPS = new Set(['Relu', 'Sigmoid', 'Tanh', 'Erf', 'Exp', 'Log', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Cast', 'Softmax', 'InstanceNormalization', 'LayerNormalization', 'Transpose', 'Dropout']);
/** Elementwise ops with numpy broadcasting. */
const BROADCAST_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Max', 'Min']);
/** Elementwise ops that may write their output over input 0 (MayInplace(0, 0)). */
const IN_PLACE_OPS = new Set(['Relu', 'Sigmoid', 'Tanh', 'Erf', 'Exp', 'Log', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Cast']);

const FLOATS = new Set<DTypeName>(['float16', 'float32', 'float64']);

/**
 * onnxruntime removes a Cast to the dtype its input already has when it loads the graph (a
 * --fp16 pack's Cast of each float16 weight after convertToFloat16): its readers read the input.
 */
function withoutNoOpCasts(graph: GraphProto, dtype: (x: string) => DTypeName | null | undefined): GraphProto {
  const outputs = new Set((graph.output ?? []).map((o) => o.name!));
  const same = new Map<string, string>();
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Cast' || !n.input?.[0] || !n.output?.[0] || outputs.has(n.output[0])) continue;
    const to = (n.attribute ?? []).find((a) => a.name === 'to')?.i;
    const from = dtype(n.input[0]);
    if (to !== undefined && to !== null && from && dtypeName(Number(to)) === from) same.set(n.output[0], n.input[0]);
  }
  if (same.size === 0) return graph;
  const source = (x: string): string => { let y = x; while (same.has(y)) y = same.get(y)!; return y; };
  const node = (graph.node ?? []).filter((n) => !(n.opType === 'Cast' && same.has(n.output?.[0] ?? ''))).map((n) => ({ ...n, input: (n.input ?? []).map((x) => (x ? source(x) : x)) }));
  return { ...graph, node };
}

/** Weights, largest tensor and peak live bytes of one run of `model`. */
export function graphMemory(model: ModelProto, opts: MemoryOptions = {}): GraphMemory {
  const fixed = opts.dims ? withFixedDims(model, opts.dims) : model;
  const shapes = inferShapes(fixed.graph!, opsetVersion(fixed));
  const graph = withoutNoOpCasts(fixed.graph!, (x) => shapes.dtype(x));
  const unsized = new Map<string, string>();
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const counts = new Map<string, number | null>();
  // Elements of a value: from its inferred shape, or, where the inference lost the shape (an
  // export's run-time shape arithmetic), from what its producer preserves: a Reshape keeps its
  // input's count, an elementwise op the broadcast of its inputs'.
  const elementsOf = (name: string): number | null => {
    if (counts.has(name)) return counts.get(name)!;
    counts.set(name, null);
    const shape = shapes.staticShape(name);
    let n: number | null = shape ? shape.reduce((a, b) => a * b, 1) : null;
    const p = producer.get(name);
    if (n === null && p && p.output?.[0] === name) {
      if (VIEW_OPS.has(p.opType!) || UNARY_OPS.has(p.opType!)) n = elementsOf(p.input![0]);
      else if (BROADCAST_OPS.has(p.opType!)) {
        const ins = (p.input ?? []).filter(Boolean).map(elementsOf);
        n = ins.every((x) => x !== null) ? Math.max(...(ins as number[])) : null;
      }
    }
    counts.set(name, n);
    return n;
  };
  const bytesOf = (name: string): number => {
    const dtype = shapes.dtype(name) ?? (producer.get(name) && !['Cast', 'Shape'].includes(producer.get(name)!.opType!) ? shapes.dtype(producer.get(name)!.input![0]) : null);
    const n = elementsOf(name);
    if (!dtype || n === null) {
      unsized.set(name, `${name} ${shapes.shape(name) ? `[${shapes.shape(name)!.map((d) => d ?? '?').join(', ')}]` : '(no shape)'}`);
      return 0;
    }
    const width = opts.floatDtype && FLOATS.has(dtype) ? bytesPerElement(opts.floatDtype) : bytesPerElement(dtype);
    return width * n;
  };

  let largest = { name: '', bytes: 0 };
  const note = (name: string, bytes: number) => { if (bytes > largest.bytes) largest = { name, bytes }; };

  // onnxruntime folds every node whose inputs are all constant into a new initializer when the
  // session is created (Transpose(W) of a MatMul's gradient, Cast(float16 W) …): the session
  // then holds the folded copies, and the originals only where an unfolded node still reads them
  const stored = new Set((graph.initializer ?? []).map((t) => t.name!));
  for (const n of graph.node ?? []) if (n.opType === 'Constant' && n.output?.[0]) stored.add(n.output[0]);
  const constant = new Set(stored);
  const folded = new Set<NodeProto>();
  const topo = ortExecutionOrder(graph).filter((n) => n.opType !== 'Constant');
  for (const n of topo) {
    if (UNFOLDABLE.has(n.opType!) || !(n.input ?? []).every((x) => !x || constant.has(x))) continue;
    folded.add(n);
    for (const o of n.output ?? []) if (o) constant.add(o);
  }
  const order = topo.filter((n) => !folded.has(n));
  const weights = new Set<string>((graph.output ?? []).map((o) => o.name!).filter((o) => constant.has(o)));
  for (const n of order) for (const x of n.input ?? []) if (x && constant.has(x)) weights.add(x);
  let weightsBytes = 0, copiesBytes = 0;
  for (const w of weights) {
    const b = bytesOf(w);
    weightsBytes += b;
    if (!stored.has(w)) copiesBytes += b;
    note(w, b);
  }
  if (opts.ep === 'cpu') {
    // The CPU EP re-lays a Conv's weight out in NCHWc blocks and pre-packs a MatMul's or Gemm's
    // constant B for its GEMM kernel; the original is released unless another node (a gradient's
    // ConvTranspose, a Transpose) reads it too, and then both are held
    const readers = new Map<string, number>();
    for (const n of order) for (const x of new Set(n.input ?? [])) if (weights.has(x)) readers.set(x, (readers.get(x) ?? 0) + 1);
    const packed = new Set<string>();
    for (const n of order) {
      const w = n.opType === 'Conv' || n.opType === 'MatMul' || n.opType === 'Gemm' ? n.input?.[1] : undefined;
      if (!w || !weights.has(w) || packed.has(w) || readers.get(w)! < 2) continue;
      if (n.opType === 'MatMul' && (shapes.shape(w)?.length ?? 0) !== 2) continue;
      packed.add(w);
      const b = bytesOf(w);
      weightsBytes += b;
      copiesBytes += b;
    }
  }

  // the caller owns the feeds for the whole run
  let feedBytes = 0;
  for (const v of graph.input ?? []) {
    if (stored.has(v.name!)) continue;
    const b = bytesOf(v.name!);
    feedBytes += b;
    note(v.name!, b);
  }

  const end = order.length;
  // values that share one buffer: a view (Reshape …) or an in-place output takes its input's
  const buffer = new Map<string, string>();
  const bufferOf = (v: string) => buffer.get(v) ?? v;
  const pinned = new Set<string>([...weights, ...(graph.input ?? []).map((v) => v.name!), ...(graph.output ?? []).map((v) => v.name!)]);
  const reads = new Map<string, number>();
  order.forEach((n) => (n.input ?? []).forEach((x) => { if (x) reads.set(x, (reads.get(x) ?? 0) + 1); }));
  // reads still to come of every value sharing a buffer, keyed by the buffer
  const readsLeft = new Map(reads);
  const share = (y: string, b: string) => { buffer.set(y, b); readsLeft.set(b, (readsLeft.get(b) ?? 0) + (reads.get(y) ?? 0)); };
  for (const n of order) {
    for (const x of n.input ?? []) if (x) readsLeft.set(bufferOf(x), readsLeft.get(bufferOf(x))! - 1);
    const x0 = n.input?.[0];
    const y0 = n.output?.[0];
    if (!x0 || !y0 || pinned.has(y0)) continue;
    const b = bufferOf(x0);
    if (VIEW_OPS.has(n.opType!)) share(y0, b);
    // onnxruntime's planner lets the output take input 0's buffer when this node is the last
    // reader of that buffer and the sizes match
    else if (IN_PLACE_OPS.has(n.opType!) && !pinned.has(b) && readsLeft.get(b) === 0 && bytesOf(x0) === bytesOf(y0)) share(y0, b);
  }
  const lastUse = new Map<string, number>();
  order.forEach((n, step) => (n.input ?? []).forEach((x) => {
    if (x) lastUse.set(bufferOf(x), Math.max(lastUse.get(bufferOf(x)) ?? 0, step));
  }));
  for (const o of graph.output ?? []) lastUse.set(bufferOf(o.name!), end);

  // delta[s]: bytes that become live (+) or dead (−) at step s
  const delta = new Float64Array(end + 2);
  order.forEach((n, step) => {
    for (const o of n.output ?? []) {
      if (!o) continue;
      const b = bytesOf(o);
      note(o, b);
      if (bufferOf(o) !== o) continue;
      delta[step] += b;
      // a value nobody reads is freed as soon as its node is done
      delta[Math.max(lastUse.get(o) ?? step, step) + 1] -= b;
    }
  });
  if (unsized.size) {
    // the first in execution order is where the inference lost track
    const step = new Map<string, number>();
    order.forEach((n, i) => (n.output ?? []).forEach((o) => step.set(o, i)));
    const list = [...unsized].sort(([a], [b]) => (step.get(a) ?? -1) - (step.get(b) ?? -1)).map(([, v]) => v);
    throw new MemoryReportError(`cannot size ${list.length} tensor${list.length === 1 ? '' : 's'} statically (bind the symbolic dims they depend on): ${list.slice(0, 3).join('; ')}${list.length > 3 ? '; …' : ''}`);
  }
  let live = 0, peak = 0;
  for (let s = 0; s <= end; s++) { live += delta[s]; peak = Math.max(peak, live); }
  return { weightsBytes, copiesBytes, peakBytes: weightsBytes + feedBytes + peak, largestTensorBytes: largest.bytes, largestTensor: largest.name };
}
