import type { GradRule } from '../types';
import { toInput } from './common';
import { broadcastShape } from './shapeCommon';
import { mulDim } from '../dims';

export const Mul: GradRule = {
  opType: 'Mul',
  inferShape: broadcastShape({ combine: mulDim }),
  gradFunc: (ctx) => {
    const { e } = ctx;
    return [
      () => toInput(ctx, e.mul(ctx.dy()!, ctx.x(1)), 0),
      () => toInput(ctx, e.mul(ctx.dy()!, ctx.x(0)), 1),
    ];
  },
};
