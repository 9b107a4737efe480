// Reductions: the output shape (every Reduce* and ArgMax/ArgMin), and for the gradients of
// ReduceSum and ReduceMean, the reduced axes put back (keepdims) and broadcast to x's shape.
import type { GradContext, ShapeFunc } from '../types';
import { type Dim, isKnown, prodDims } from '../dims';
import { normalizeAxis } from './shapeCommon';

export interface ReducedShapeOptions {
  /** ArgMax/ArgMin: one axis from the `axis` attribute, int64 indices out */
  argIndices?: boolean;
  /** ReduceProd: the product of a tracked 1-D shape is tracked (an element count) */
  product?: boolean;
}

/** x's shape with the reduced axes set to 1 (keepdims) or removed; no axes: all of them. */
export function reducedShape(opts: ReducedShapeOptions = {}): ShapeFunc {
  return (ctx) => {
    const x = ctx.inputShape(0);
    const keep = ctx.attr<number>('keepdims', 1);
    const dtype = opts.argIndices ? 'int64' : ctx.inputDtype(0);
    if (!x) return ctx.oneOutput(dtype, null);
    let axes: number[] | null | undefined;
    if (opts.argIndices) axes = [ctx.attr<number>('axis', 0)];
    else axes = ctx.attr<number[]>('axes') ?? (ctx.in[1] ? ctx.inputInts(1) : undefined);
    if (axes === null) return ctx.oneOutput(dtype, keep ? x.map(() => null) : null);
    if (axes === undefined || axes.length === 0) {
      if (ctx.attr<number>('noop_with_empty_axes', 0) && !opts.argIndices) return ctx.oneOutput(dtype, x, ctx.inputValues(0));
      axes = x.map((_, i) => i);
    }
    const reduced = new Set(axes.map((a) => normalizeAxis(a, x.length)));
    const shape = keep ? x.map((d, i) => (reduced.has(i) ? 1 : d)) : x.filter((_, i) => !reduced.has(i));
    let values: Dim[] | null = null;
    if (opts.product && x.length === 1 && !keep) { const v = ctx.inputValues(0); if (v) values = [prodDims(v)]; }
    return ctx.oneOutput(dtype, shape, values);
  };
}

interface ReducedAxes { axes: number[] | null; dynamic: string | null; noop: boolean }

/** The reduced axes: from the attribute, a constant input, or a run-time input (`dynamic`). */
export function reducedAxes(ctx: GradContext, axesAsInputFrom: number): ReducedAxes {
  const r = ctx.rank(ctx.in[0]);
  const noopEmpty = ctx.attr<number>('noop_with_empty_axes', 0) === 1;
  let axes: number[] | null | undefined;
  let dynamic: string | null = null;
  if (ctx.opset >= axesAsInputFrom) {
    if (ctx.in[1]) {
      const c = ctx.shapes.intValues(ctx.in[1]);
      if (c) axes = c;
      else { axes = null; dynamic = ctx.x(1); }
    }
  } else {
    axes = ctx.attr<number[]>('axes');
  }
  if (axes === undefined || (axes && axes.length === 0)) {
    if (noopEmpty) return { axes: [], dynamic: null, noop: true };
    return { axes: Array.from({ length: r }, (_, i) => i), dynamic: null, noop: false };
  }
  return { axes: axes ? [...new Set(axes.map((a) => (a < 0 ? a + r : a)))].sort((a, b) => a - b) : null, dynamic, noop: false };
}

/** dy broadcast back to x's shape. */
export function unreduce(ctx: GradContext, ax: ReducedAxes, dy: string): string {
  const { e } = ctx;
  if (ax.noop) return dy;
  let g = dy;
  let gDims = ctx.shapes.shape(ctx.out[0]) ?? undefined;
  if (!ctx.attr<number>('keepdims', 1)) {
    if (ax.axes) {
      g = e.unsqueeze(dy, ax.axes);
      const xr = ctx.rank(ctx.in[0]);
      const kept = gDims ? [...gDims] : null;
      gDims = kept ? Array.from({ length: xr }, (_, i) => (ax.axes!.includes(i) ? 1 : kept.shift()!)) : undefined;
    } else {
      g = e.unsqueezeDyn(dy, ax.dynamic!);
      gDims = undefined;
    }
  }
  return e.expandLike(g, ctx.in[0], gDims);
}

/** How many elements each output averages, as a scalar of x's dtype. */
export function reducedCount(ctx: GradContext, ax: ReducedAxes): string {
  const { e } = ctx;
  const x = ctx.in[0];
  const dt = e.dtypeOf(x);
  if (ax.axes) {
    const d = ctx.dims(x);
    const ds = ax.axes.map((a) => d[a]);
    if (ds.every(isKnown)) return e.scalar(ds.reduce((p, v) => p * (v as number), 1), dt);
  }
  const nx = e.reduceProd(e.shapeOf(x), null, false);
  const ny = e.reduceProd(e.shapeOf(ctx.out[0]), null, false);
  return e.cast(e.div(nx, ny), dt);
}
