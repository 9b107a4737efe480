// Static dtype and shape inference over a graph, with symbolic dims, plus the contents of small
// integer tensors (shape arithmetic) where they can be derived. The gradient rules need ranks
// (always) and dims (to skip broadcast reductions that static shapes prove unnecessary). Each
// op's shape function lives beside its gradient in rules/ and is found through registry.ts.
import { attr, dtypeName, onnx, type GraphProto, type NodeProto, type ExternalDataReader } from '../onnx';
import { valueType, topologicalOrder } from '../onnx/graph';
import { isKnown } from './dims';
import { NoShapeFunctionError } from './errors';
import { shapeFunction } from './registry';
import { MAX_TRACKED, ShapeTable, constantNodeValue, trackedInts, type TypeInfo } from './shapeTable';
import type { InferredShapes, ShapeContext } from './types';

function shapeContext(node: NodeProto, t: ShapeTable): ShapeContext {
  const ins = node.input ?? [];
  return {
    node,
    opset: t.opset,
    in: ins.map((i) => i ?? ''),
    attr: ((name: string, fallback?: never) => attr(node, name, fallback)) as ShapeContext['attr'],
    inputShape: (i) => (ins[i] ? t.shape(ins[i]) : null),
    inputDtype: (i) => (ins[i] ? t.dtype(ins[i]) : null),
    inputValues: (i) => (ins[i] ? t.values.get(ins[i]) ?? null : null),
    inputInts: (i) => (ins[i] ? t.intValues(ins[i]) : null),
    inputConstant: (i) => (ins[i] ? t.constant(ins[i]) : null),
    oneOutput: (dtype, shape, values) => ({ outputs: [{ dtype, shape }], values: [values ?? null] }),
  };
}

/** The types of one node's outputs from its op's shape function (NoShapeFunctionError if none). */
export function inferNode(node: NodeProto, t: ShapeTable): InferredShapes {
  return shapeFunction(node.opType ?? '', node.name ?? '')(shapeContext(node, t));
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
      const v = h ? trackedInts(h) : null;
      if (v) t.values.set(init.name, v);
    }
  }
  for (const node of topologicalOrder(graph)) {
    let res: InferredShapes;
    let noShapeFunction: NoShapeFunctionError | null = null;
    try {
      res = inferNode(node, t);
    } catch (err) {
      // what inference cannot work out stays unknown; value_info may still declare it
      if (err instanceof NoShapeFunctionError) noShapeFunction = err;
      res = { outputs: [] };
    }
    (node.output ?? []).forEach((o, i) => {
      if (!o) return;
      const info = merge(res.outputs[i] ?? null, declared.get(o));
      if (info) t.set(o, info);
      else if (noShapeFunction) t.markWithoutShapeFunction(o, noShapeFunction);
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
