import { unary } from './common';

// dx = dy where y > 0 (0 at the kink, as torch)
export const Relu = unary('Relu', (ctx, dy) => {
  const { e } = ctx;
  const zero = e.scalar(0, e.dtypeOf(ctx.in[0]));
  return e.op1('Where', [e.op1('Greater', [ctx.y(0), zero]), dy, zero]);
});
