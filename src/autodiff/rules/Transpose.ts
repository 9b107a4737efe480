import type { GradRule } from '../types';

export const Transpose: GradRule = {
  opType: 'Transpose',
  inferShape: (ctx) => {
    const x = ctx.inputShape(0);
    if (!x) return ctx.oneOutput(ctx.inputDtype(0), null);
    const perm = ctx.attr<number[]>('perm') ?? x.map((_, i) => x.length - 1 - i);
    return ctx.oneOutput(ctx.inputDtype(0), perm.map((p) => x[p]));
  },
  gradFunc: (ctx) => [() => {
    const r = ctx.rank(ctx.in[0]);
    const perm = ctx.attr<number[]>('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const inv = Array<number>(r);
    perm.forEach((p, i) => { inv[p] = i; });
    return ctx.e.transpose(ctx.dy()!, inv);
  }],
};
