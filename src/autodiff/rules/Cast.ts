import type { GradRule } from '../types';
import { dtypeName } from '../../onnx';

// The gradient goes back through the cast into the input's own float type.
export const Cast: GradRule = {
  opType: 'Cast',
  inferShape: (ctx) => ctx.oneOutput(dtypeName(ctx.attr<number>('to', 1)), ctx.inputShape(0), ctx.inputValues(0)),
  gradFunc: (ctx) => [() => {
    const from = ctx.dtype(ctx.in[0]);
    return from === ctx.dtype(ctx.out[0]) ? ctx.dy()! : ctx.e.cast(ctx.dy()!, from);
  }],
};
