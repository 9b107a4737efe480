import type { GradRule } from '../types';
import { lazy } from '../types';
import { isKnown } from '../dims';

// dy split back into the inputs' extents along the axis (one Split serves every input).
export const Concat: GradRule = {
  opType: 'Concat',
  gradFunc: (ctx) => {
    const { e } = ctx;
    const r = ctx.rank(ctx.out[0]);
    const axis = ctx.attr<number>('axis', 0);
    const a = axis < 0 ? axis + r : axis;
    const pieces = lazy(() => {
      const sizes = ctx.in.map((x) => ctx.dims(x)[a]);
      const s = sizes.every(isKnown) ? (sizes as number[]) : e.concat(ctx.in.map((x) => e.dimOf(x, a)), 0);
      return e.split(ctx.dy()!, s, a, ctx.in.length);
    });
    return ctx.in.map((_, i) => () => pieces()[i]);
  },
};
