import { unary } from './common';

// dx = dy · y · (1 - y)
export const Sigmoid = unary('Sigmoid', (ctx, dy) => {
  const { e } = ctx;
  const y = ctx.y(0);
  return e.mul(dy, e.mul(y, e.sub(e.scalar(1, e.dtypeOf(ctx.in[0])), y)));
});
