import { unary } from './common';

export const Log = unary('Log', (ctx, dy) => ctx.e.div(dy, ctx.x(0)));
