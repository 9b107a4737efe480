import { type Dim, divDim, isKnown, prodDims } from '../dims';
import { reshapeRule } from './reshapeLike';

// A 0 in the target copies x's size (unless allowzero); one -1 takes what is left.
export const Reshape = reshapeRule('Reshape', (ctx) => {
  const x = ctx.inputShape(0);
  const target = ctx.inputValues(1);
  if (!target) {
    const targetShape = ctx.inputShape(1);
    return ctx.oneOutput(ctx.inputDtype(0), targetShape && isKnown(targetShape[0]) ? Array(targetShape[0]).fill(null) : null);
  }
  const allowZero = ctx.attr<number>('allowzero', 0);
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (x ? x[i] ?? null : null) : d));
  const inferred = out.indexOf(-1);
  if (inferred >= 0) {
    const rest = out.filter((_, i) => i !== inferred);
    out[inferred] = x ? divDim(prodDims(x), prodDims(rest)) : null;
  }
  return ctx.oneOutput(ctx.inputDtype(0), out, ctx.inputValues(0));
});
