import type { GradRule } from '../types';
import { softmaxAxes } from './Softmax';
import { sameShape } from './shapeCommon';

// dx = dy − exp(y)·Σ_axis dy
export const LogSoftmax: GradRule = {
  opType: 'LogSoftmax',
  inferShape: sameShape,
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const dy = ctx.dy()!;
    return e.sub(dy, e.mul(e.op1('Exp', [ctx.y(0)]), e.reduceSum(dy, softmaxAxes(ctx), true)));
  }],
};
