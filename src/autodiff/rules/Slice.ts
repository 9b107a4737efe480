import type { GradContext, GradRule, ShapeFunc } from '../types';
import { type Dim, isKnown } from '../dims';
import { normalizeAxis } from './shapeCommon';

const BIG = 2 ** 62;

/** The length of d[start:end:step] (numpy clamping); a symbolic d survives only a full slice. */
function slicedLength(d: Dim, start: number, end: number, step: number): Dim {
  if (isKnown(d)) {
    const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
    let s = start < 0 ? start + d : start;
    let e = end < 0 ? end + d : end;
    if (step > 0) { s = clamp(s, 0, d); e = clamp(e, 0, d); return Math.max(0, Math.ceil((e - s) / step)); }
    s = clamp(s, -1, d - 1); e = clamp(e, -1, d - 1);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  if (step === 1 && start === 0 && end >= 2 ** 31 - 1) return d;
  if (step === -1 && start === -1 && end <= -(2 ** 31)) return d;
  return null;
}

// Unknown starts/ends make the sliced axes unknown; the contents of a sliced 1-D shape are tracked.
const inferShape: ShapeFunc = (ctx) => {
  const x = ctx.inputShape(0);
  const dtype = ctx.inputDtype(0);
  const starts = ctx.inputInts(1), ends = ctx.inputInts(2);
  const givenAxes = ctx.in[3] ? ctx.inputInts(3) : undefined;
  const steps = ctx.in[4] ? ctx.inputInts(4) : undefined;
  if (!x) return ctx.oneOutput(dtype, null);
  if (!starts || !ends || givenAxes === null || steps === null) {
    const axes = givenAxes ?? (starts ? starts.map((_, i) => i) : null);
    if (!axes) return ctx.oneOutput(dtype, x.map(() => null));
    const sliced = new Set(axes.map((a) => normalizeAxis(a, x.length)));
    return ctx.oneOutput(dtype, x.map((d, i) => (sliced.has(i) ? null : d)));
  }
  const axes = givenAxes ?? starts.map((_, i) => i);
  const out = [...x];
  axes.forEach((ax, i) => {
    const a = normalizeAxis(ax, x.length);
    out[a] = slicedLength(x[a], starts[i], ends[i], steps ? steps[i] : 1);
  });
  const v = ctx.inputValues(0);
  let values: Dim[] | null = null;
  if (v && x.length === 1 && isKnown(out[0]) && isKnown(x[0])) {
    const step = steps ? steps[0] : 1;
    let s = starts[0] < 0 ? starts[0] + x[0] : starts[0];
    s = step > 0 ? Math.max(0, Math.min(x[0], s)) : Math.max(-1, Math.min(x[0] - 1, s));
    values = Array.from({ length: out[0] as number }, (_, i) => v[s + i * step]);
  }
  return ctx.oneOutput(dtype, out, values);
};

/** Zero padding that puts dy back in place, when every input is constant and sizes are known. */
function staticPads(ctx: GradContext): number[] | null {
  const x = ctx.in[0];
  const xd = ctx.dims(x);
  const r = xd.length;
  const starts = ctx.shapes.intValues(ctx.in[1]), ends = ctx.shapes.intValues(ctx.in[2]);
  const axes = ctx.in[3] ? ctx.shapes.intValues(ctx.in[3]) : starts?.map((_, i) => i);
  const steps = ctx.in[4] ? ctx.shapes.intValues(ctx.in[4]) : starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps || steps.some((s) => s !== 1)) return null;
  const pads = Array(2 * r).fill(0);
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i] < 0 ? axes[i] + r : axes[i];
    const d = xd[a];
    if (!isKnown(d)) return null;
    const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : Math.min(v, BIG)));
    const s = clamp(starts[i]);
    const en = Math.max(s, clamp(ends[i]));
    pads[a] = s;
    pads[a + r] = d - en;
  }
  return pads;
}

// Constant step-1 slices of known extent: dx = dy zero-padded back into place. Any other slice
// (run-time bounds, steps, negative steps): slice a tensor of x's flat indices the same way and
// scatter dy to those indices, which is correct for every slice the op can express.
export const Slice: GradRule = {
  opType: 'Slice',
  inferShape: inferShape,
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const pads = staticPads(ctx);
    if (pads) return e.pad(ctx.dy()!, pads);
    const x = ctx.in[0];
    const shape = e.shapeOf(x);
    const n = e.reduceProd(shape, null, false);
    const idx = e.reshape(e.op1('Range', [e.int0(0), n, e.int0(1)]), shape);
    const sliceInputs = [idx, ...ctx.in.slice(1).map((name, i) => (name ? ctx.x(i + 1) : ''))];
    while (sliceInputs[sliceInputs.length - 1] === '') sliceInputs.pop();
    const picked = e.unsqueeze(e.reshape(e.op1('Slice', sliceInputs), [-1]), [1]);
    const flat = e.op1('ScatterND', [e.op1('Expand', [e.scalar(0, e.dtypeOf(x)), e.reshape(n, [1])]), picked, e.reshape(ctx.dy()!, [-1])]);
    return e.reshape(flat, shape);
  }],
};
