import type { GradRule } from '../types';
import { broadcastShape } from './shapeCommon';

export const Sum: GradRule = {
  opType: 'Sum',
  inferShape: broadcastShape(),
  gradFunc: (ctx) => ctx.in.map((x) => () => ctx.e.sumToShape(ctx.dy()!, ctx.out[0], x)),
};
