import { unary } from './common';

export const LeakyRelu = unary('LeakyRelu', (ctx, dy) => {
  const { e } = ctx;
  const zero = e.scalar(0, e.dtypeOf(ctx.in[0]));
  const alpha = ctx.attr<number>('alpha', 0.01);
  return e.op1('Where', [e.op1('Greater', [ctx.x(0), zero]), dy, e.scale(dy, alpha, ctx.in[0])]);
});
