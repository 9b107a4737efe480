import { unary } from './common';

// d erf(x)/dx = 2/√π · exp(-x²)
export const Erf = unary('Erf', (ctx, dy) => {
  const { e } = ctx;
  const x = ctx.x(0);
  const g = e.op1('Exp', [e.neg(e.mul(x, x))]);
  return e.mul(e.scale(dy, 2 / Math.sqrt(Math.PI), ctx.in[0]), g);
});
