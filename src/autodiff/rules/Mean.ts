import type { GradRule } from '../types';
import { broadcastShape } from './shapeCommon';

export const Mean: GradRule = {
  opType: 'Mean',
  inferShape: broadcastShape(),
  gradFunc: (ctx) => ctx.in.map((x) => () => ctx.e.sumToShape(ctx.e.scale(ctx.dy()!, 1 / ctx.in.length, x), ctx.out[0], x)),
};
