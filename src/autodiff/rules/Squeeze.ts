import { reshapeRule } from './reshapeLike';
import { normalizeAxis } from './shapeCommon';

// Axes from the second input (opset 13+) or the attribute; none given: every size-1 axis.
export const Squeeze = reshapeRule('Squeeze', (ctx) => {
  const x = ctx.inputShape(0);
  const axes = ctx.opset >= 13 ? (ctx.in[1] ? ctx.inputInts(1) : undefined) : ctx.attr<number[]>('axes');
  const dtype = ctx.inputDtype(0);
  if (!x) return ctx.oneOutput(dtype, null, ctx.inputValues(0));
  if (axes === null) return ctx.oneOutput(dtype, null);
  if (axes === undefined) return ctx.oneOutput(dtype, x.every((d) => d !== null) ? x.filter((d) => d !== 1) : null, ctx.inputValues(0));
  const squeezed = new Set(axes.map((a) => normalizeAxis(a, x.length)));
  return ctx.oneOutput(dtype, x.filter((_, i) => !squeezed.has(i)), ctx.inputValues(0));
});
