import type { GradRule } from '../types';
import { toInput } from './common';
import { broadcastShape } from './shapeCommon';
import { isKnown } from '../dims';

export const Sub: GradRule = {
  opType: 'Sub',
  inferShape: broadcastShape({ combine: (x, y) => (isKnown(x) && isKnown(y) ? x - y : y === 0 ? x : null) }),
  gradFunc: (ctx) => [() => toInput(ctx, ctx.dy()!, 0), () => ctx.e.neg(toInput(ctx, ctx.dy()!, 1))],
};
