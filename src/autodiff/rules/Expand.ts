import type { GradRule, ShapeFunc } from '../types';
import { broadcastShapes, isKnown } from '../dims';

const inferShape: ShapeFunc = (ctx) => {
  const x = ctx.inputShape(0);
  const target = ctx.inputValues(1);
  if (!x) return ctx.oneOutput(ctx.inputDtype(0), null);
  if (!target) {
    const targetShape = ctx.inputShape(1);
    return ctx.oneOutput(ctx.inputDtype(0), targetShape && isKnown(targetShape[0]) ? Array(Math.max(targetShape[0], x.length)).fill(null) : null);
  }
  // -1 or 1 in the target keeps the input's size
  return ctx.oneOutput(ctx.inputDtype(0), broadcastShapes([x, target.map((d) => (d === -1 ? 1 : d))]));
};

export const Expand: GradRule = {
  opType: 'Expand',
  inferShape: inferShape,
  differentiable: [0],
  gradFunc: (ctx) => [() => ctx.e.sumToShape(ctx.dy()!, ctx.out[0], ctx.in[0])],
};
