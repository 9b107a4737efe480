import { unary } from './common';

export const Sin = unary('Sin', (ctx, dy) => ctx.e.mul(dy, ctx.e.op1('Cos', [ctx.x(0)])));
