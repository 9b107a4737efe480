import type { GradRule } from '../types';
import type { AttrValue } from '../../onnx';
import { isKnown } from '../dims';
import { biasGrad, convAttrs, convOutputShape, spatialAxes, swapNC, weightGrad } from './convCommon';
import type { Emitter } from '../emitter';

/**
 * Pads of the stride-1 conv that gives dx from dy with a flipped kernel: each side's pad becomes
 * (k−1)·d − pad (dy is one kernel extent shorter than x, less the forward's pads); null when a
 * forward pad exceeds the kernel extent (that dx would need a negative pad).
 */
export function flippedPads(kernel: number[], dilations: number[], pads: number[]): number[] | null {
  const nd = kernel.length;
  const out = pads.map((p, i) => (kernel[i % nd] - 1) * dilations[i % nd] - p);
  return out.every((p) => p >= 0) ? out : null;
}

/** W [O, C, k...] → W' [C, O, k...] with every spatial axis reversed. */
function flippedWeight(w: string, nd: number, e: Emitter): string {
  const axes = spatialAxes(nd);
  const rev = e.slice(w, axes.map(() => -1), axes.map(() => Number.MIN_SAFE_INTEGER), axes, axes.map(() => -1));
  return e.transpose(rev, swapNC(nd));
}

// dx is the transposed convolution of dy with the same weight. With convInputGradient
// 'flipped-conv', a stride-1, ungrouped conv's dx is written instead as a Conv of dy with the
// weight's channel axes swapped and its kernel flipped (`flippedWeight`): onnxruntime's CPU EP
// runs Conv in its blocked NCHWc layout and has no such kernel for ConvTranspose (see
// GradientOptions.convInputGradient and src/autodiff/README.md for what it gains and costs). Positions the forward conv
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
        const flipped = ctx.convInputGradient === 'flipped-conv' && a.kernel && a.group === 1 && s.every((v) => v === 1) ? flippedPads(a.kernel, d, pads) : null;
        if (flipped) {
          return e.op1('Conv', [dy(), flippedWeight(ctx.x(1), nd, e)], { strides: s, dilations: d, group: 1, kernel_shape: a.kernel!, pads: flipped });
        }
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
