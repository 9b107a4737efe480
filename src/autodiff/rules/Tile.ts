import type { GradRule } from '../types';
import { isKnown, mulDim } from '../dims';

// y's axis i holds reps[i] copies of x's: dy reshaped to [r0, d0, r1, d1, ...], summed over the r's.
export const Tile: GradRule = {
  opType: 'Tile',
  inferShape: (ctx) => {
    const x = ctx.inputShape(0), reps = ctx.inputValues(1);
    if (!x) return ctx.oneOutput(ctx.inputDtype(0), null);
    return ctx.oneOutput(ctx.inputDtype(0), reps ? x.map((d, i) => mulDim(d, reps[i])) : x.map(() => null));
  },
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const x = ctx.in[0];
    const xd = ctx.dims(x);
    const reps = ctx.shapes.intValues(ctx.in[1]);
    let shape: string;
    if (reps && xd.every(isKnown)) shape = e.ints(xd.flatMap((d, i) => [reps[i], d as number]));
    else shape = e.reshape(e.concat([e.unsqueeze(ctx.x(1), [1]), e.unsqueeze(e.shapeOf(x), [1])], 1), [-1]);
    return e.reduceSum(e.reshape(ctx.dy()!, shape), xd.map((_, i) => 2 * i), false);
  }],
};
