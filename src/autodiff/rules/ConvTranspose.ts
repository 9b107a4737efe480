import type { GradRule } from '../types';
import type { AttrValue } from '../../onnx';
import { biasGrad, convAttrs, convOutputShape, weightGrad } from './convCommon';

// The adjoint of a transposed conv is the conv with the same weight, strides, pads, dilations
// and groups; its weight gradient is the conv weight gradient with x and dy exchanged.
export const ConvTranspose: GradRule = {
  opType: 'ConvTranspose',
  inferShape: (ctx) => ctx.oneOutput(ctx.inputDtype(0), convOutputShape(ctx, true)),
  gradFunc: (ctx) => {
    const { e } = ctx;
    if (ctx.attr<number[]>('output_shape')) ctx.fail('output_shape is not supported (give pads and output_padding)');
    if (ctx.attr<string>('auto_pad', 'NOTSET') !== 'NOTSET' && ctx.attr<string>('auto_pad', 'NOTSET') !== 'VALID') ctx.fail('auto_pad SAME_* is not supported');
    const a = convAttrs(ctx);
    const dy = () => ctx.dy()!;
    const attrs: Record<string, AttrValue> = { strides: a.strides, dilations: a.dilations, group: a.group, pads: a.pads };
    if (a.kernel) attrs.kernel_shape = a.kernel;
    return [
      () => e.op1('Conv', [dy(), ctx.x(1)], attrs),
      () => weightGrad(ctx, dy(), ctx.out[0], ctx.x(0), ctx.in[0], ctx.in[1], a),
      ctx.in[2] ? () => biasGrad(ctx, dy(), a.nd) : null,
    ];
  },
};
