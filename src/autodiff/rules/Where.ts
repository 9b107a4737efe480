import type { GradRule } from '../types';

export const Where: GradRule = {
  opType: 'Where',
  differentiable: [1, 2],
  gradFunc: (ctx) => {
    const { e } = ctx;
    const zero = () => e.scalar(0, e.dtypeOf(ctx.out[0]));
    return [
      null,
      () => e.sumToShape(e.op1('Where', [ctx.x(0), ctx.dy()!, zero()]), ctx.out[0], ctx.in[1]),
      () => e.sumToShape(e.op1('Where', [ctx.x(0), zero(), ctx.dy()!]), ctx.out[0], ctx.in[2]),
    ];
  },
};
