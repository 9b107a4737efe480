import type { GradRule } from '../types';
import { toInput } from './common';
import { broadcastShape } from './shapeCommon';
import { divDim, isKnown } from '../dims';

// y = a / b: da = dy / b, db = -dy · y / b
export const Div: GradRule = {
  opType: 'Div',
  inferShape: broadcastShape({ combine: (x, y) => (isKnown(x) && isKnown(y) ? Math.trunc(x / y) : divDim(x, y)) }),
  gradFunc: (ctx) => {
    const { e } = ctx;
    return [
      () => toInput(ctx, e.div(ctx.dy()!, ctx.x(1)), 0),
      () => toInput(ctx, e.neg(e.div(e.mul(ctx.dy()!, ctx.y(0)), ctx.x(1))), 1),
    ];
  },
};
