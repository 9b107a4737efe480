import { unary } from './common';

// y = √x: dx = dy · 0.5 / y
export const Sqrt = unary('Sqrt', (ctx, dy) => ctx.e.div(ctx.e.scale(dy, 0.5, ctx.in[0]), ctx.y(0)));
