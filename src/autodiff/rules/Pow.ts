import type { GradRule } from '../types';
import { toInput } from './common';
import { broadcastShape } from './shapeCommon';

// y = x^p: dx = dy · p · x^(p-1); dp = dy · y · ln x (taken as 0 where x ≤ 0, where torch gives NaN)
export const Pow: GradRule = {
  opType: 'Pow',
  inferShape: broadcastShape(),
  gradFunc: (ctx) => {
    const { e } = ctx;
    const x = ctx.in[0];
    const dt = e.dtypeOf(x);
    return [
      () => {
        const p = ctx.constant(1);
        let local: string;
        if (p && p.length === 1) {
          const pv = p[0];
          if (pv === 0) return e.zerosLike(x);
          if (pv === 1) return toInput(ctx, ctx.dy()!, 0);
          if (pv === 2) local = e.scale(ctx.x(0), 2, x);
          else local = e.scale(e.op1('Pow', [ctx.x(0), e.scalar(pv - 1, dt)]), pv, x);
        } else {
          const pv = e.dtypeOf(ctx.in[1]) === dt ? ctx.x(1) : e.cast(ctx.x(1), dt);
          local = e.mul(pv, e.op1('Pow', [ctx.x(0), e.sub(pv, e.scalar(1, dt))]));
        }
        return toInput(ctx, e.mul(ctx.dy()!, local), 0);
      },
      () => {
        const xv = ctx.x(0);
        const zero = e.scalar(0, dt);
        const positive = e.op1('Greater', [xv, zero]);
        const safe = e.op1('Where', [positive, xv, e.scalar(1, dt)]);
        const logx = e.op1('Where', [positive, e.op1('Log', [safe]), zero]);
        return toInput(ctx, e.mul(ctx.dy()!, e.mul(ctx.y(0), logx)), 1);
      },
    ];
  },
};
