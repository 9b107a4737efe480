import type { GradRule } from '../types';

export const Transpose: GradRule = {
  opType: 'Transpose',
  gradFunc: (ctx) => [() => {
    const r = ctx.rank(ctx.in[0]);
    const perm = ctx.attr<number[]>('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const inv = Array<number>(r);
    perm.forEach((p, i) => { inv[p] = i; });
    return ctx.e.transpose(ctx.dy()!, inv);
  }],
};
