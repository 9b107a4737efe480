import { unary } from './common';

// dx = dy · sign(x), sign(0) = 0 as torch (Sign is not on the WebGPU EP's list: two compares)
export const Abs = unary('Abs', (ctx, dy) => {
  const { e } = ctx;
  const x = ctx.x(0);
  const zero = e.scalar(0, e.dtypeOf(ctx.in[0]));
  const pos = e.op1('Where', [e.op1('Greater', [x, zero]), dy, zero]);
  return e.op1('Where', [e.op1('Less', [x, zero]), e.neg(dy), pos]);
});
