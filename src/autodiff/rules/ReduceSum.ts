import type { GradRule } from '../types';
import { reducedAxes, unreduce } from './reduce';

export const ReduceSum: GradRule = {
  opType: 'ReduceSum',
  differentiable: [0],
  gradFunc: (ctx) => [() => unreduce(ctx, reducedAxes(ctx, 13), ctx.dy()!)],
};
