import type { Dim } from '../dims';
import { reshapeRule } from './reshapeLike';
import { normalizeAxis } from './shapeCommon';

export const Unsqueeze = reshapeRule('Unsqueeze', (ctx) => {
  const x = ctx.inputShape(0);
  const axes = ctx.opset >= 13 ? (ctx.in[1] ? ctx.inputInts(1) : null) : ctx.attr<number[]>('axes') ?? null;
  if (!x || !axes) return ctx.oneOutput(ctx.inputDtype(0), null, ctx.inputValues(0));
  const r = x.length + axes.length;
  const inserted = new Set(axes.map((a) => normalizeAxis(a, r)));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(inserted.has(i) ? 1 : x[j++]);
  return ctx.oneOutput(ctx.inputDtype(0), out, ctx.inputValues(0));
});
