import type { GradRule } from '../types';
import { sameShape } from './shapeCommon';

// dx = dy where min ≤ x ≤ max (bounds inclusive, as torch.clamp). And is not on the WebGPU
// EP's list, so the two conditions are two nested Wheres.
export const Clip: GradRule = {
  opType: 'Clip',
  inferShape: sameShape,
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const x = ctx.x(0);
    const zero = e.scalar(0, e.dtypeOf(ctx.in[0]));
    let g = ctx.dy()!;
    if (ctx.in[2]) g = e.op1('Where', [e.op1('LessOrEqual', [x, ctx.x(2)]), g, zero]);
    if (ctx.in[1]) g = e.op1('Where', [e.op1('GreaterOrEqual', [x, ctx.x(1)]), g, zero]);
    return g;
  }],
};
