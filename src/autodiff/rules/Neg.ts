import { unary } from './common';

export const Neg = unary('Neg', (ctx, dy) => ctx.e.neg(dy));
