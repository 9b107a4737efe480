import type { GradRule } from '../types';

// Constant-mode padding with constant pads: dx is the slice of dy that x occupies.
export const Pad: GradRule = {
  opType: 'Pad',
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    if (ctx.attr<string>('mode', 'constant') !== 'constant') ctx.fail(`mode '${ctx.attr<string>('mode')}' is not supported`);
    const r = ctx.rank(ctx.in[0]);
    const pads = ctx.opset >= 11 ? ctx.shapes.intValues(ctx.in[1]) : ctx.attr<number[]>('pads') ?? null;
    const axesIn = ctx.in[3] ? ctx.shapes.intValues(ctx.in[3]) : Array.from({ length: r }, (_, i) => i);
    if (!pads || !axesIn) return ctx.fail('pads and axes must be constants');
    if (pads.some((p) => p < 0)) ctx.fail('negative pads are not supported');
    const axes = axesIn.map((a) => (a < 0 ? a + r : a));
    const n = axes.length;
    const starts = axes.map((_, i) => pads[i]);
    const ends = axes.map((_, i) => (pads[i + n] > 0 ? -pads[i + n] : 2 ** 62));
    return e.slice(ctx.dy()!, starts, ends, axes);
  }],
};
