import type { GradRule } from '../types';
import { lazy } from '../types';
import { isKnown } from '../dims';
import { broadcastShape } from './shapeCommon';

/** Max/Min: the gradient goes to the inputs equal to the result, shared evenly on ties (as torch). */
export function extremumRule(opType: 'Max' | 'Min'): GradRule {
  const pick = opType === 'Max' ? Math.max : Math.min;
  return {
    opType,
    inferShape: broadcastShape({ combine: (x, y) => (isKnown(x) && isKnown(y) ? pick(x, y) : null) }),
    gradFunc: (ctx) => {
      const { e } = ctx;
      const dt = e.dtypeOf(ctx.out[0]);
      const hits = lazy(() => ctx.in.map((_, i) => e.op1('Equal', [ctx.x(i), ctx.y(0)])));
      const share = lazy(() => {
        if (ctx.in.length === 1) return ctx.dy()!;
        const count = e.sumAll(hits().map((h) => e.cast(h, dt)));
        return e.div(ctx.dy()!, count);
      });
      return ctx.in.map((_, i) => () =>
        e.sumToShape(e.op1('Where', [hits()[i], share(), e.scalar(0, dt)]), ctx.out[0], ctx.in[i]));
    },
  };
}
