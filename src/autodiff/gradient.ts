// The reverse-mode pass: walk the active nodes backwards, let each op's rule emit the
// gradients of its inputs, accumulate contributions per value, and expose the gradients of
// the requested names as graph outputs.
import { onnx, toNumber, makeValueInfo, attr as nodeAttr, type ModelProto, type NodeProto, type ValueInfoProto, type ExternalDataReader } from '../onnx';
import { opsetVersion, topologicalOrder, type AttrJs } from '../onnx/graph';
import { analyzeActivity, differentiableInputs } from './activity';
import { Emitter, NameGen } from './emitter';
import { closestNames, NoShapeFunctionError, UnknownNameError, UnsupportedOpError } from './errors';
import { gradRule } from './registry';
import { Recomputer, autoSegments, namedSegments } from './recompute';
import { inferShapes } from './shapes';
import { isFloat, type ShapeTable } from './shapeTable';
import type { GradContext } from './types';
import type { Dim } from './dims';

export interface GradientOptions {
  /** outputs to differentiate; new graph inputs `${o}_grad` (same shape/dtype) carry upstream grads */
  of: string[];
  /** graph inputs or initializers; new outputs `${w}_grad` */
  wrt: string[];
  /**
   * gradient checkpointing: segments (lists of node names, or 'auto' = one per Transformer/ResNet/
   * encoder-layer block found in the node names) whose activations are recomputed in the backward
   * pass instead of kept
   */
  recompute?: string[][] | 'auto';
  /**
   * the seeds are multiplied by this (a constant seed is this instead of 1) and every `${w}_grad`
   * is divided by it again: the outputs are unchanged while the backward pass carries values this
   * much larger, a static loss scale for a backward pass computed in float16, whose small
   * gradients would otherwise underflow
   */
  lossScale?: number;
  /**
   * how a Conv's input gradient is written: 'conv-transpose' (default) a ConvTranspose of the
   * stored weight as it is; 'flipped-conv' (stride 1, one group; others stay ConvTranspose) a Conv
   * with the weight's channel axes swapped and its kernel flipped, which onnxruntime's CPU EP runs
   * in NCHWc (ConvTranspose has no NCHWc kernel: the bench UNet's backward convolutions take a
   * third less kernel time) and folds at session creation into a copy that replaces the one
   * ConvTranspose pre-packs. Not the default: that folding leaves glibc heap holes (+50–120 MB
   * step peak on the bench UNet, src/autodiff/README.md), and in a graph that holds each weight
   * once (src/packer/weightsOnce.ts) the flip would run again on every step
   */
  convInputGradient?: 'flipped-conv' | 'conv-transpose';
  onWarning?: (msg: string) => void;
}

export interface CoreOptions extends GradientOptions {
  /** 'inputs': seeds are graph inputs `${o}_grad`; 'ones': seeds are constant ones (a scalar loss) */
  seeds: 'inputs' | 'ones';
  readExternal?: ExternalDataReader;
}

export const MIN_OPSET = 13;
export const MAX_TESTED_OPSET = 20;

function valueInfoFor(name: string, like: string, t: ShapeTable, declared: Map<string, ValueInfoProto>): ValueInfoProto {
  const d = declared.get(like);
  if (d?.type) return onnx.ValueInfoProto.create({ name, type: d.type });
  const info = t.get(like);
  const shape = (info?.shape ?? []).map((dim: Dim, i) => (dim === null ? `${name}_dim${i}` : dim));
  return makeValueInfo(name, info?.dtype ?? 'float32', shape);
}

export function differentiate(model: ModelProto, opts: CoreOptions): ModelProto {
  const graph = model.graph;
  if (!graph) throw new Error('the model has no graph');
  const warn = opts.onWarning ?? (() => {});
  const opset = opsetVersion(model);
  if (opset < MIN_OPSET) throw new Error(`opset ${opset} is not supported (the gradient rules need opset ${MIN_OPSET} or newer)`);
  if (opset > MAX_TESTED_OPSET) warn(`opset ${opset} is newer than the opsets the rules were tested with (up to ${MAX_TESTED_OPSET})`);
  if (opts.wrt.length === 0) throw new Error('no names to differentiate with respect to (wrt is empty)');
  if (opts.of.length === 0) throw new Error('no outputs to differentiate (of is empty)');

  const t = inferShapes(graph, opset, opts.readExternal);
  const order = topologicalOrder(graph);
  const initNames = (graph.initializer ?? []).map((i) => i.name ?? '');
  const inputNames = (graph.input ?? []).map((i) => i.name ?? '');
  const leaves = new Set([...inputNames, ...initNames]);
  const produced = new Set(order.flatMap((n) => n.output ?? []));
  const outputNames = (graph.output ?? []).map((o) => o.name ?? '');
  for (const w of opts.wrt) {
    if (!leaves.has(w)) {
      if (produced.has(w)) throw new Error(`'${w}' is computed by the graph; wrt names must be graph inputs or initializers`);
      throw new UnknownNameError('wrt name (graph input or initializer)', w, closestNames(w, leaves));
    }
    if (!isFloat(t.dtype(w))) throw new Error(`'${w}' has type ${t.dtype(w)}; only float values have gradients`);
  }
  for (const o of opts.of) {
    if (!produced.has(o) && !leaves.has(o)) throw new UnknownNameError('output', o, closestNames(o, [...outputNames, ...produced]));
    if (!isFloat(t.dtype(o))) throw new Error(`output '${o}' has type ${t.dtype(o)}; only float values have gradients`);
  }

  const act = analyzeActivity(order, opts.wrt, opts.of, t);
  for (const n of act.activeNodes) {
    if (gradRule(n.opType ?? '') && (n.domain ?? '') === '' ) continue;
    const input = differentiableInputs(n).map((i) => n.input![i]).find((v) => act.active.has(v)) ?? '';
    throw new UnsupportedOpError(`${n.domain ? `${n.domain}.` : ''}${n.opType}`, n.name ?? '', input);
  }

  const names = new NameGen([
    ...leaves, ...produced, ...outputNames, ...order.map((n) => n.name ?? ''), ...(graph.valueInfo ?? []).map((v) => v.name ?? ''),
  ]);
  const reserve = (name: string) => {
    if (names.has(name)) throw new Error(`cannot add '${name}': the graph already has a value of that name`);
    names.reserve(name);
  };
  const e = new Emitter(names, t);
  const declared = new Map<string, ValueInfoProto>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) if (v.name) declared.set(v.name, v);

  // ---- seeds
  const newInputs: ValueInfoProto[] = [];
  const grads = new Map<string, string[]>();
  const push = (v: string, g: string) => {
    if (!t.has(g)) t.alias(g, v);
    const list = grads.get(v) ?? [];
    list.push(g);
    grads.set(v, list);
  };
  for (const o of opts.of) {
    if (opts.seeds === 'inputs') {
      const seed = `${o}_grad`;
      reserve(seed);
      newInputs.push(valueInfoFor(seed, o, t, declared));
      t.alias(seed, o);
      if ((opts.lossScale ?? 1) === 1) push(o, seed);
      else {
        e.prefix = `${o}_seed`;
        const scaled = e.op1('Mul', [seed, e.scalar(opts.lossScale!, e.dtypeOf(o))]);
        t.alias(scaled, o);
        push(o, scaled);
      }
    } else {
      e.prefix = `${o}_seed`;
      const s = t.staticShape(o);
      const one = e.scalar(opts.lossScale ?? 1, e.dtypeOf(o));
      push(o, s && s.length === 0 ? one : e.op1('Expand', [one, e.shapeOf(o)]));
    }
  }
  for (const w of opts.wrt) reserve(`${w}_grad`);

  const accumulated = (v: string): string | null => {
    const list = grads.get(v);
    if (!list || list.length === 0) return null;
    if (list.length > 1) {
      e.prefix = `${v}_grad_sum`;
      const s = e.sumAll(list);
      t.alias(s, v);
      grads.set(v, [s]);
    }
    return grads.get(v)![0];
  };

  // ---- recompute
  let rc: Recomputer | null = null;
  if (opts.recompute) {
    const segs = opts.recompute === 'auto' ? autoSegments(order, act.activeNodes) : namedSegments(order, opts.recompute);
    rc = new Recomputer(e, t, order, segs, [...initNames]);
  }

  // ---- backward
  for (let k = act.activeNodes.length - 1; k >= 0; k--) {
    const node = act.activeNodes[k];
    const rule = gradRule(node.opType ?? '')!;
    const ins = (node.input ?? []).map((i) => i ?? '');
    const outs = (node.output ?? []).map((o) => o ?? '');
    const dys = outs.map((o) => (o && act.active.has(o) ? accumulated(o) : null));
    if (dys.every((d) => d === null)) continue;
    const slots = new Set(differentiableInputs(node));
    const needs = (i: number) => slots.has(i) && act.active.has(ins[i]);
    const seg = rc?.segmentIndex(node);
    const trigger = () => dys.find((d) => d !== null) ?? null;
    e.resolve = rc ? (name) => rc!.resolve(name, seg, trigger) : (name) => name;
    e.prefix = `${node.name || `${node.opType}_${k}`}_grad`;
    const fail = (reason: string): never => {
      const input = ins.find((v, i) => needs(i)) ?? '';
      throw new UnsupportedOpError(node.opType ?? '', node.name ?? '', input, reason);
    };
    const ctx: GradContext = {
      node, opset, e, shapes: t, in: ins, out: outs, convInputGradient: opts.convInputGradient ?? 'conv-transpose',
      attr: (<T extends AttrJs>(name: string, fallback?: T) => nodeAttr<T>(node, name, fallback as T)) as GradContext['attr'],
      x: (i) => (ins[i] ? e.resolve(ins[i]) : ''),
      y: (j) => e.resolve(outs[j]),
      dy: (j = 0) => dys[j] ?? null,
      dyOrZeros: (j) => dys[j] ?? e.zerosLike(outs[j]),
      needs,
      rank: (name) => t.rank(name),
      dims: (name) => t.dims(name),
      dtype: (name) => e.dtypeOf(name),
      constant: (i) => {
        const h = ins[i] ? t.constant(ins[i]) : null;
        return h ? Array.from(h.data as ArrayLike<number | bigint>, Number) : null;
      },
      fail,
    };
    try {
      const thunks = rule.gradFunc(ctx);
      for (const i of [...slots].sort((a, b) => a - b)) {
        if (!needs(i)) continue;
        const thunk = thunks[i];
        if (!thunk) fail(`the rule has no gradient for input ${i}`);
        push(ins[i], thunk!());
      }
    } catch (err) {
      if (err instanceof UnsupportedOpError || err instanceof NoShapeFunctionError) throw err;
      throw new Error(`gradient of node '${node.name}' (${node.opType}): ${(err as Error).message}`);
    }
  }

  // ---- outputs
  e.resolve = (name) => name;
  const newOutputs: ValueInfoProto[] = [];
  const producedByBackward = new Map<string, NodeProto>();
  for (const n of e.nodes) for (const o of n.output ?? []) producedByBackward.set(o, n);
  const renamed = new Set<string>();
  for (const w of opts.wrt) {
    const name = `${w}_grad`;
    e.prefix = name;
    let g = accumulated(w);
    if (!g) {
      warn(`'${w}' has no path to ${opts.of.map((o) => `'${o}'`).join(', ')}: its gradient is zero`);
      g = e.zerosLike(w);
    } else if ((opts.lossScale ?? 1) !== 1) {
      g = e.op1('Mul', [g, e.scalar(1 / opts.lossScale!, e.dtypeOf(w))]);
      t.alias(g, w);
    }
    const p = producedByBackward.get(g) ?? e.nodes.find((n) => (n.output ?? []).includes(g!));
    if (p && !renamed.has(g)) {
      // the value becomes this output; a later name sharing it gets a copy
      renamed.add(name);
      for (const n of e.nodes) {
        n.input = (n.input ?? []).map((i) => (i === g ? name : i));
        n.output = (n.output ?? []).map((o) => (o === g ? name : o));
      }
      for (const list of grads.values()) list.forEach((x, i) => { if (x === g) list[i] = name; });
    } else {
      e.op1('Identity', [g]);
      e.nodes[e.nodes.length - 1].output = [name];
    }
    newOutputs.push(valueInfoFor(name, w, t, declared));
  }

  const newGraph = onnx.GraphProto.create({
    ...graph,
    node: [...(graph.node ?? []), ...e.nodes],
    initializer: [...(graph.initializer ?? []), ...e.initializers],
    input: [...(graph.input ?? []), ...newInputs],
    output: [...(graph.output ?? []), ...newOutputs],
  });
  const irVersion = Math.max(toNumber(model.irVersion as number), 7);
  return onnx.ModelProto.create({ ...model, irVersion, graph: newGraph });
}
