import type { GradRule } from '../types';
import type { AttrValue } from '../../onnx';
import { isKnown } from '../dims';
import { biasGrad, convAttrs, convOutputShape, spatialAxes, weightGrad } from './convCommon';

// dx is the transposed convolution of dy with the same weight. Positions the forward conv
// dropped at the end (when (size + pads − kernel) is not a multiple of the stride) get zero
// gradient: output_padding restores them when sizes are static; otherwise the transposed conv
// runs without end padding and is padded/cut to x's run-time size.
export const Conv: GradRule = {
  opType: 'Conv',
  inferShape: (ctx) => ({ outputs: [{ dtype: ctx.inputDtype(0), shape: convOutputShape(ctx, false) }] }),
  gradFunc: (ctx) => {
    const { e } = ctx;
    const a = convAttrs(ctx);
    const { nd, strides: s, dilations: d, pads } = a;
    const dy = () => ctx.dy()!;
    const common: Record<string, AttrValue> = { strides: s, dilations: d, group: a.group };
    if (a.kernel) common.kernel_shape = a.kernel;
    return [
      () => {
        const xd = ctx.dims(ctx.in[0]).slice(2), yd = ctx.dims(ctx.out[0]).slice(2);
        if (a.kernel && xd.every(isKnown) && yd.every(isKnown)) {
          const op = xd.map((x, i) => (x as number) - (s[i] * ((yd[i] as number) - 1) + (a.kernel![i] - 1) * d[i] + 1 - pads[i] - pads[i + nd]));
          if (op.every((v, i) => v >= 0 && v < Math.max(s[i], d[i]))) {
            const attrs: Record<string, AttrValue> = { ...common, pads };
            if (op.some((v) => v > 0)) attrs.output_padding = op;
            return e.op1('ConvTranspose', [dy(), ctx.x(1)], attrs);
          }
        }
        const ct = e.op1('ConvTranspose', [dy(), ctx.x(1)], { ...common, pads: [...pads.slice(0, nd), ...Array(nd).fill(0)] });
        const q = s.map((si, i) => Math.max(0, si - 1 - pads[i + nd]));
        const padded = e.pad(ct, [...Array(nd + 2).fill(0), 0, 0, ...q]);
        return e.slice(padded, Array(nd).fill(0), e.slice(e.shapeOf(ctx.in[0]), [2], [nd + 2], [0]), spatialAxes(nd));
      },
      () => weightGrad(ctx, ctx.x(0), ctx.in[0], dy(), ctx.out[0], ctx.in[1], a),
      ctx.in[2] ? () => biasGrad(ctx, dy(), nd) : null,
    ];
  },
};
