import type { GradContext, GradRule } from '../types';

/** Axes a (Log)Softmax normalizes over: one axis from opset 13, the flattened tail before. */
export function softmaxAxes(ctx: GradContext): number[] {
  const r = ctx.rank(ctx.in[0]);
  const axis = ctx.attr<number>('axis', ctx.opset >= 13 ? -1 : 1);
  const a = axis < 0 ? axis + r : axis;
  return ctx.opset >= 13 ? [a] : Array.from({ length: r - a }, (_, i) => a + i);
}

// dx = dy·y − y·Σ_axis(dy·y)
export const Softmax: GradRule = {
  opType: 'Softmax',
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const y = ctx.y(0);
    const dyy = e.mul(ctx.dy()!, y);
    return e.sub(dyy, e.mul(y, e.reduceSum(dyy, softmaxAxes(ctx), true)));
  }],
};
