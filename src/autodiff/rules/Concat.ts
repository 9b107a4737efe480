import type { GradRule, ShapeFunc } from '../types';
import { lazy } from '../types';
import { type Dim, addDim, isKnown } from '../dims';
import { normalizeAxis } from './shapeCommon';

// Sizes along the axis add up; elsewhere any input that knows a size gives it. Tracked
// contents (shapes being assembled) are joined.
const inferShape: ShapeFunc = (ctx) => {
  const shapes = ctx.in.map((_, i) => ctx.inputShape(i));
  const known = shapes.filter((s): s is Dim[] => !!s);
  let shape: Dim[] | null = null;
  if (known.length > 0) {
    const a = normalizeAxis(ctx.attr<number>('axis', 0), known[0].length);
    shape = known[0].map((_, i) => {
      if (i === a) return shapes.every((s) => s) ? shapes.reduce<Dim>((acc, s) => addDim(acc, s![i]), 0) : null;
      const ds = known.map((s) => s[i]);
      return ds.find(isKnown) ?? ds.find((d) => d !== null) ?? null;
    });
  }
  const values = ctx.in.map((_, i) => ctx.inputValues(i));
  return ctx.oneOutput(ctx.inputDtype(0), shape, values.every((v) => v) ? (values as Dim[][]).flat() : null);
};

// dy split back into the inputs' extents along the axis (one Split serves every input).
export const Concat: GradRule = {
  opType: 'Concat',
  inferShape,
  gradFunc: (ctx) => {
    const { e } = ctx;
    const r = ctx.rank(ctx.out[0]);
    const axis = ctx.attr<number>('axis', 0);
    const a = axis < 0 ? axis + r : axis;
    const pieces = lazy(() => {
      const sizes = ctx.in.map((x) => ctx.dims(x)[a]);
      const s = sizes.every(isKnown) ? (sizes as number[]) : e.concat(ctx.in.map((x) => e.dimOf(x, a)), 0);
      return e.split(ctx.dy()!, s, a, ctx.in.length);
    });
    return ctx.in.map((_, i) => () => pieces()[i]);
  },
};
