import type { GradRule, ShapeFunc } from '../types';
import { type Dim, broadcastShapes, isKnown } from '../dims';

// The values' shapes decide first, the condition's last; tracked contents are selected per element.
const inferShape: ShapeFunc = (ctx) => {
  const shapes = [1, 2, 0].map((i) => ctx.inputShape(i));
  const shape = shapes.every((s) => s) ? broadcastShapes(shapes as Dim[][]) : null;
  const c = ctx.inputValues(0), x = ctx.inputValues(1), y = ctx.inputValues(2);
  let values: Dim[] | null = null;
  if (c && x && y && c.every(isKnown)) {
    const n = Math.max(c.length, x.length, y.length);
    values = Array.from({ length: n }, (_, i) => (c[c.length === 1 ? 0 : i] ? x[x.length === 1 ? 0 : i] : y[y.length === 1 ? 0 : i]));
  }
  return ctx.oneOutput(ctx.inputDtype(1), shape, values);
};

export const Where: GradRule = {
  opType: 'Where',
  inferShape,
  differentiable: [1, 2],
  gradFunc: (ctx) => {
    const { e } = ctx;
    const zero = () => e.scalar(0, e.dtypeOf(ctx.out[0]));
    return [
      null,
      () => e.sumToShape(e.op1('Where', [ctx.x(0), ctx.dy()!, zero()]), ctx.out[0], ctx.in[1]),
      () => e.sumToShape(e.op1('Where', [ctx.x(0), zero(), ctx.dy()!]), ctx.out[0], ctx.in[2]),
    ];
  },
};
