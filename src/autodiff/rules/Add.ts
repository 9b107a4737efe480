import type { GradRule } from '../types';
import { toInput } from './common';
import { broadcastShape } from './shapeCommon';
import { addDim } from '../dims';

export const Add: GradRule = {
  opType: 'Add',
  inferShape: broadcastShape({ combine: addDim }),
  gradFunc: (ctx) => [() => toInput(ctx, ctx.dy()!, 0), () => toInput(ctx, ctx.dy()!, 1)],
};
