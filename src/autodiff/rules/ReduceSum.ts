import type { GradRule } from '../types';
import { reducedShape, reducedAxes, unreduce } from './reduce';

export const ReduceSum: GradRule = {
  opType: 'ReduceSum',
  inferShape: reducedShape(),
  differentiable: [0],
  gradFunc: (ctx) => [() => unreduce(ctx, reducedAxes(ctx, 13), ctx.dy()!)],
};
