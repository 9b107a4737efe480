// Activity analysis: a value is active when it depends on a differentiated name (through
// inputs that carry gradients) and a differentiated output depends on it. Only nodes with an
// active input and an active output get backward nodes; shape arithmetic is integer-typed and
// feeds slots that carry no gradient, so it stays out.
import type { NodeProto } from '../onnx';
import { gradRule } from './registry';
import { isFloat, type ShapeTable } from './shapeTable';

export function differentiableInputs(node: NodeProto): number[] {
  const ins = node.input ?? [];
  const rule = gradRule(node.opType ?? '');
  const slots = rule?.differentiable ?? ins.map((_, i) => i);
  return slots.filter((i) => i < ins.length && !!ins[i]);
}

export interface Activity {
  /** values that depend on a wrt name */
  varied: Set<string>;
  /** values some `of` output depends on */
  useful: Set<string>;
  /** varied ∩ useful */
  active: Set<string>;
  /** nodes that get backward nodes, in forward order */
  activeNodes: NodeProto[];
}

export function analyzeActivity(order: NodeProto[], wrt: string[], of: string[], t: ShapeTable): Activity {
  const floatValue = (v: string) => isFloat(t.dtype(v)) || t.dtype(v) === null;
  const varied = new Set(wrt);
  for (const n of order) {
    if (!differentiableInputs(n).some((i) => varied.has(n.input![i]))) continue;
    for (const o of n.output ?? []) if (o && floatValue(o)) varied.add(o);
  }
  const useful = new Set(of);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    if (!(n.output ?? []).some((o) => useful.has(o))) continue;
    for (const i of differentiableInputs(n)) {
      const v = n.input![i];
      if (floatValue(v)) useful.add(v);
    }
  }
  const active = new Set([...varied].filter((v) => useful.has(v)));
  const activeNodes = order.filter((n) =>
    (n.output ?? []).some((o) => active.has(o)) && differentiableInputs(n).some((i) => active.has(n.input![i])));
  return { varied, useful, active, activeNodes };
}
