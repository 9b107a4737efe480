import type { GradContext, GradRule } from '../types';
import { sameShape } from './shapeCommon';

/** Axes a (Log)Softmax normalizes over: one axis from opset 13, the flattened tail before. */
export function softmaxAxes(ctx: GradContext): number[] {
  const r = ctx.rank(ctx.in[0]);
  const axis = ctx.attr<number>('axis', ctx.opset >= 13 ? -1 : 1);
  const a = axis < 0 ? axis + r : axis;
  return ctx.opset >= 13 ? [a] : Array.from({ length: r - a }, (_, i) => a + i);
}

// dx = y·(dy − Σ_axis(dy·y)): dy·y dies at the reduction, so at most two tensors of y's size
// are live at once (attention probabilities are the largest tensors of a UNet's backward)
export const Softmax: GradRule = {
  opType: 'Softmax',
  inferShape: sameShape,
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const y = ctx.y(0);
    const dy = ctx.dy()!;
    return e.mul(y, e.sub(dy, e.reduceSum(e.mul(dy, y), softmaxAxes(ctx), true)));
  }],
};
