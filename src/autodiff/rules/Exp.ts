import { unary } from './common';

export const Exp = unary('Exp', (ctx, dy) => ctx.e.mul(dy, ctx.y(0)));
