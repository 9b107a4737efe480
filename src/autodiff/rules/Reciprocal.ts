import { unary } from './common';

// y = 1/x: dx = -dy · y²
export const Reciprocal = unary('Reciprocal', (ctx, dy) => {
  const { e } = ctx;
  const y = ctx.y(0);
  return e.neg(e.mul(dy, e.mul(y, y)));
});
