import { unary } from './common';

export const Cos = unary('Cos', (ctx, dy) => ctx.e.neg(ctx.e.mul(dy, ctx.e.op1('Sin', [ctx.x(0)]))));
