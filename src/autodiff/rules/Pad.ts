import type { GradRule, ShapeFunc } from '../types';
import { addDim } from '../dims';
import { normalizeAxis } from './shapeCommon';

const inferShape: ShapeFunc = (ctx) => {
  const x = ctx.inputShape(0);
  if (!x) return ctx.oneOutput(ctx.inputDtype(0), null);
  const pads = ctx.opset >= 11 ? ctx.inputInts(1) : ctx.attr<number[]>('pads') ?? null;
  const axes = ctx.in[3] ? ctx.inputInts(3) : x.map((_, i) => i);
  if (!pads || !axes) return ctx.oneOutput(ctx.inputDtype(0), x.map(() => null));
  const out = [...x];
  axes.forEach((ax, i) => {
    const a = normalizeAxis(ax, x.length);
    out[a] = addDim(x[a], pads[i] + pads[i + axes.length]);
  });
  return ctx.oneOutput(ctx.inputDtype(0), out);
};

// Constant-mode padding with constant pads: dx is the slice of dy that x occupies.
export const Pad: GradRule = {
  opType: 'Pad',
  inferShape: inferShape,
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
