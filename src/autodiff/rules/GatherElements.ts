import type { GradRule } from '../types';
import { normalizedIndices } from './Gather';

export const GatherElements: GradRule = {
  opType: 'GatherElements',
  inferShape: (ctx) => ctx.oneOutput(ctx.inputDtype(0), ctx.inputShape(1)),
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    if (ctx.opset < 16) ctx.fail('needs opset 16 (ScatterElements with reduction)');
    const x = ctx.in[0];
    const r = ctx.rank(x);
    const axis = ctx.attr<number>('axis', 0);
    const a = axis < 0 ? axis + r : axis;
    const idx = normalizedIndices(ctx, 1, e.reshape(e.dimOf(x, a), []));
    return e.op1('ScatterElements', [e.zerosLike(x), idx, ctx.dy()!], { axis: a, reduction: 'add' });
  }],
};
