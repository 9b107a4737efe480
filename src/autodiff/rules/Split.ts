import type { GradRule, ShapeFunc } from '../types';
import { divDim, isKnown } from '../dims';
import { normalizeAxis } from './shapeCommon';

// Sizes from the second input (opset 13+) or the attribute; none given: equal chunks, the last smaller.
const inferShape: ShapeFunc = (ctx) => {
  const x = ctx.inputShape(0);
  const n = ctx.node.output?.length ?? 1;
  const dtype = ctx.inputDtype(0);
  let split: number[] | null | undefined = ctx.opset >= 13 ? (ctx.in[1] ? ctx.inputInts(1) : undefined) : ctx.attr<number[]>('split');
  if (!x) return { outputs: Array(n).fill({ dtype, shape: null }) };
  const a = normalizeAxis(ctx.attr<number>('axis', 0), x.length);
  const d = x[a];
  if (split === undefined && isKnown(d)) {
    const chunk = Math.ceil(d / n);
    split = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
  }
  return {
    outputs: Array.from({ length: n }, (_, i) => ({
      dtype,
      shape: x.map((dd, j) => (j !== a ? dd : split ? split[i] : split === undefined ? divDim(d, n) : null)),
    })),
  };
};

// dx = the outputs' gradients concatenated, zeros standing in for unused outputs.
export const Split: GradRule = {
  opType: 'Split',
  inferShape: inferShape,
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const r = ctx.rank(ctx.in[0]);
    const axis = ctx.attr<number>('axis', 0);
    return ctx.e.concat(ctx.out.map((_, j) => ctx.dyOrZeros(j)), axis < 0 ? axis + r : axis);
  }],
};
