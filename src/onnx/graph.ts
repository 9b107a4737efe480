// Read-side helpers over a GraphProto: attributes as JS values, who produces and who consumes
// each value, declared types and shapes, and the opset in force.
import { onnx, toNumber, type AttributeProto, type TensorProto, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './proto';
import { dtypeName, type DTypeName } from './dtype';
import { tensorDims } from './tensor';

export type AttrJs = number | number[] | string | string[] | TensorProto | undefined;

export function attrValue(a: AttributeProto): AttrJs {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT: return toNumber(a.i as number);
    case T.FLOAT: return a.f ?? 0;
    case T.INTS: return (a.ints ?? []).map((v) => toNumber(v as number));
    case T.FLOATS: return [...(a.floats ?? [])];
    case T.STRING: return new TextDecoder().decode(a.s ?? new Uint8Array());
    case T.STRINGS: return (a.strings ?? []).map((s) => new TextDecoder().decode(s));
    case T.TENSOR: return a.t ?? undefined;
    default: return undefined;
  }
}

export function attr<T extends AttrJs>(node: NodeProto, name: string, fallback: T): T;
export function attr<T extends AttrJs>(node: NodeProto, name: string): T | undefined;
export function attr<T extends AttrJs>(node: NodeProto, name: string, fallback?: T): T | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a ? (attrValue(a) as T) : fallback;
}

export function opsetVersion(model: ModelProto, domain = ''): number {
  const o = (model.opsetImport ?? []).find((x) => (x.domain ?? '') === domain || (domain === '' && x.domain === 'ai.onnx'));
  return o ? toNumber(o.version as number) : 0;
}

export function producers(graph: GraphProto): Map<string, NodeProto> {
  const m = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) m.set(o, n);
  return m;
}

export function consumers(graph: GraphProto): Map<string, NodeProto[]> {
  const m = new Map<string, NodeProto[]>();
  for (const n of graph.node ?? []) {
    for (const i of n.input ?? []) {
      if (!i) continue;
      const list = m.get(i) ?? [];
      list.push(n);
      m.set(i, list);
    }
  }
  return m;
}

export interface ValueType { dtype: DTypeName; shape: (number | string)[] | null }

export function valueType(v: ValueInfoProto): ValueType | null {
  const tt = v.type?.tensorType;
  if (!tt || !tt.elemType) return null;
  const shape = tt.shape ? (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue as number))) : null;
  return { dtype: dtypeName(tt.elemType), shape };
}

/** Declared dtype and shape of every value the graph describes (inputs, outputs, value_info, initializers). */
export function valueTypes(graph: GraphProto): Map<string, ValueType> {
  const m = new Map<string, ValueType>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const t = valueType(v);
    if (t && v.name) m.set(v.name, t);
  }
  for (const t of graph.initializer ?? []) {
    if (t.name) m.set(t.name, { dtype: dtypeName(t.dataType ?? 0), shape: tensorDims(t) });
  }
  return m;
}

/** Graph inputs that are not initializers (what a caller must feed). */
export function feedInputs(graph: GraphProto): ValueInfoProto[] {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? []).filter((i) => !inits.has(i.name));
}

/** Nodes in an order where every node comes after the producers of its inputs. */
export function topologicalOrder(graph: GraphProto): NodeProto[] {
  const nodes = graph.node ?? [];
  const prod = producers(graph);
  const seen = new Set<NodeProto>();
  const out: NodeProto[] = [];
  const visit = (n: NodeProto) => {
    if (seen.has(n)) return;
    seen.add(n);
    const stack: [NodeProto, number][] = [[n, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const ins = top[0].input ?? [];
      if (top[1] < ins.length) {
        const p = prod.get(ins[top[1]++]);
        if (p && !seen.has(p)) { seen.add(p); stack.push([p, 0]); }
      } else {
        out.push(top[0]);
        stack.pop();
      }
    }
  };
  nodes.forEach(visit);
  return out;
}
