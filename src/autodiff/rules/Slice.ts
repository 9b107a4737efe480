import type { GradContext, GradRule } from '../types';
import { isKnown } from '../dims';

const BIG = 2 ** 62;

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
