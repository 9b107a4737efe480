import { unary } from './common';

// dx = dy · (1 - y²)
export const Tanh = unary('Tanh', (ctx, dy) => {
  const { e } = ctx;
  const y = ctx.y(0);
  return e.mul(dy, e.sub(e.scalar(1, e.dtypeOf(ctx.in[0])), e.mul(y, y)));
});
