// Small rewrites of exported graphs: keep only the outputs the pipeline reads (dropping what
// only they needed), rename a value, and pin symbolic input dims for the train graphs.
import { makeValueInfo, onnx, type Dim, type GraphProto, type ModelProto, type NodeProto } from '../onnx';
import { withFixedDims } from '../autodiff/fixDims';

/** A copy of `model` whose outputs are `outputs` (value → declared info), minus nodes and initializers nothing needs. */
export function keepOutputs(model: ModelProto, outputs: string[]): ModelProto {
  const graph = model.graph!;
  const declared = new Map((graph.output ?? []).map((o) => [o.name ?? '', o]));
  const producers = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) producers.set(o, n);
  const needed = new Set<string>();
  const kept = new Set<NodeProto>();
  const stack = [...outputs];
  while (stack.length) {
    const v = stack.pop()!;
    if (needed.has(v)) continue;
    needed.add(v);
    const p = producers.get(v);
    if (p && !kept.has(p)) {
      kept.add(p);
      for (const i of p.input ?? []) if (i) stack.push(i);
      // subgraph attributes (If/Loop) may read outer values by name
      for (const a of p.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) for (const name of outerReads(g)) stack.push(name);
    }
  }
  const newGraph: GraphProto = {
    ...graph,
    node: (graph.node ?? []).filter((n) => kept.has(n)),
    initializer: (graph.initializer ?? []).filter((t) => needed.has(t.name ?? '')),
    output: outputs.map((o) => declared.get(o) ?? onnx.ValueInfoProto.create({ name: o })),
    valueInfo: (graph.valueInfo ?? []).filter((v) => needed.has(v.name ?? '')),
  };
  return { ...model, graph: newGraph };
}

function outerReads(g: GraphProto): string[] {
  const local = new Set<string>([...(g.input ?? []).map((i) => i.name ?? ''), ...(g.initializer ?? []).map((t) => t.name ?? '')]);
  for (const n of g.node ?? []) for (const o of n.output ?? []) local.add(o);
  const reads: string[] = [];
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) if (i && !local.has(i)) reads.push(i);
    for (const a of n.attribute ?? []) for (const sub of [a.g, ...(a.graphs ?? [])]) if (sub) reads.push(...outerReads(sub).filter((r) => !local.has(r)));
  }
  return reads;
}

/** Renames value `from` to `to` everywhere in the top-level graph (node inputs/outputs, graph outputs, value_info). */
export function renameValue(model: ModelProto, from: string, to: string): ModelProto {
  const graph = model.graph!;
  const swap = (v: string) => (v === from ? to : v);
  const node = (graph.node ?? []).map((n) => onnx.NodeProto.create({ ...n, input: (n.input ?? []).map(swap), output: (n.output ?? []).map(swap) }));
  const rename = <T extends { name?: string | null }>(v: T): T => (v.name === from ? { ...v, name: to } : v);
  return { ...model, graph: { ...graph, node, output: (graph.output ?? []).map(rename), valueInfo: (graph.valueInfo ?? []).map(rename) } };
}

/** Declares graph output `name` as float32 of `shape` (replacing its declaration). */
export function declareOutput(model: ModelProto, name: string, shape: readonly Dim[]): ModelProto {
  const graph = model.graph!;
  return { ...model, graph: { ...graph, output: (graph.output ?? []).map((o) => (o.name === name ? makeValueInfo(name, 'float32', shape) : o)) } };
}

/**
 * Pins the symbolic dims of the named inputs to the given sizes, wherever those dim names
 * appear (inputs, outputs, value_info). A static dim that differs from the size is an error.
 */
export function pinInputDims(model: ModelProto, shapes: Record<string, readonly number[]>): ModelProto {
  const sizes: Record<string, number> = {};
  for (const input of model.graph?.input ?? []) {
    const want = shapes[input.name ?? ''];
    if (!want) continue;
    const dims = input.type?.tensorType?.shape?.dim ?? [];
    if (dims.length !== want.length) throw new Error(`input ${input.name} has rank ${dims.length}, expected [${want.join(', ')}]`);
    dims.forEach((d, i) => {
      if (d.dimParam) {
        if (d.dimParam in sizes && sizes[d.dimParam] !== want[i]) throw new Error(`dim ${d.dimParam} would be both ${sizes[d.dimParam]} and ${want[i]}`);
        sizes[d.dimParam] = want[i];
      } else if (d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) !== 0 && Number(d.dimValue) !== want[i]) {
        throw new Error(`input ${input.name} dim ${i} is ${Number(d.dimValue)}, expected ${want[i]}`);
      }
    });
  }
  return withFixedDims(model, sizes);
}
