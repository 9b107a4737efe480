import { prodDims } from '../dims';
import { reshapeRule } from './reshapeLike';
import { normalizeAxis } from './shapeCommon';

export const Flatten = reshapeRule('Flatten', (ctx) => {
  const x = ctx.inputShape(0);
  if (!x) return ctx.oneOutput(ctx.inputDtype(0), [null, null]);
  const a = normalizeAxis(ctx.attr<number>('axis', 1), x.length);
  return ctx.oneOutput(ctx.inputDtype(0), [prodDims(x.slice(0, a)), prodDims(x.slice(a))]);
});
