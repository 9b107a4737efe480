// Pooling: the conv output-size formula with the channels kept; the global pools keep N and C.
import type { ShapeOnlyRule } from '../../types';
import { convOutputShape } from '../convCommon';

const windowed = (opType: string): ShapeOnlyRule => ({
  opType,
  noGradient: 'differentiable, no rule',
  inferShape: (ctx) => {
    const shape = convOutputShape(ctx, false);
    const outputs = [{ dtype: ctx.inputDtype(0), shape }];
    // MaxPool's optional second output: the argmax indices
    if (opType === 'MaxPool') outputs.push({ dtype: 'int64', shape });
    return { outputs };
  },
});

const global = (opType: string): ShapeOnlyRule => ({
  opType,
  noGradient: 'differentiable, no rule',
  inferShape: (ctx) => {
    const x = ctx.inputShape(0);
    return ctx.oneOutput(ctx.inputDtype(0), x ? x.map((d, i) => (i < 2 ? d : 1)) : null);
  },
});

export const POOLING: ShapeOnlyRule[] = [
  windowed('MaxPool'), windowed('AveragePool'), windowed('LpPool'), global('GlobalAveragePool'), global('GlobalMaxPool'),
];
