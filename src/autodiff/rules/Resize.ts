import type { GradContext, GradRule, ShapeFunc } from '../types';
import { isKnown, mulDim } from '../dims';

/** Output sizes from the `sizes` input when known, else x's sizes times the constant `scales`. */
export function resizedShape(scalesInput: number, sizesInput?: number): ShapeFunc {
  return (ctx) => {
    const x = ctx.inputShape(0);
    const dtype = ctx.inputDtype(0);
    if (!x) return ctx.oneOutput(dtype, null);
    const sizes = sizesInput !== undefined ? ctx.inputInts(sizesInput) : null;
    if (sizes) return ctx.oneOutput(dtype, sizes);
    const sc = ctx.inputConstant(scalesInput);
    if (sc && sc.data.length === x.length) {
      const s = Array.from(sc.data as Float32Array, Number);
      return ctx.oneOutput(dtype, x.map((d, i) => (s[i] === 1 ? d : Number.isInteger(s[i]) ? mulDim(d, s[i]) : isKnown(d) ? Math.floor(d * s[i]) : null)));
    }
    return ctx.oneOutput(dtype, x.map(() => null));
  };
}

/** Source index nearest-mode Resize reads for output index i (ONNX's formulas). */
function nearestSource(i: number, n: number, s: number, ctm: string, mode: string): number {
  const m = n * s;
  let x: number;
  switch (ctm) {
    case 'asymmetric': x = i / s; break;
    case 'align_corners': x = m === 1 ? 0 : (i * (n - 1)) / (m - 1); break;
    case 'pytorch_half_pixel': x = m > 1 ? (i + 0.5) / s - 0.5 : 0; break;
    case 'tf_half_pixel_for_nn': x = (i + 0.5) / s; break;
    default: x = (i + 0.5) / s - 0.5; // half_pixel
  }
  let r: number;
  switch (mode) {
    case 'floor': r = Math.floor(x); break;
    case 'ceil': r = Math.ceil(x); break;
    case 'round_prefer_ceil': r = Math.round(x); break;
    default: r = x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x); // round_prefer_floor
  }
  return Math.max(0, Math.min(n - 1, r));
}

/** Whether output i reads input ⌊i/s⌋ for every i, i.e. the resize is a plain block repeat. */
function isBlockRepeat(s: number, n: number | null, ctm: string, mode: string): boolean {
  for (const len of n !== null ? [n] : [1, 2, 3, 4, 5, 7]) {
    for (let i = 0; i < len * s; i++) if (nearestSource(i, len, s, ctm, mode) !== Math.floor(i / s)) return false;
  }
  return true;
}

/** Per-axis scale: a known integer, or null when only the run-time sizes tell (then it must be an integer). */
function integerScales(ctx: GradContext): (number | null)[] {
  const x = ctx.in[0];
  const xd = ctx.dims(x);
  const yd = ctx.dims(ctx.out[0]);
  const r = xd.length;
  const axesAttr = ctx.attr<number[]>('axes');
  const axes = axesAttr ? axesAttr.map((a) => (a < 0 ? a + r : a)) : xd.map((_, i) => i);
  const scalesIn = ctx.opset >= 11 ? 2 : 1;
  const sc = ctx.in[scalesIn] ? ctx.constant(scalesIn) : null;
  const sizes = ctx.opset >= 11 && ctx.in[3] ? ctx.shapes.intValues(ctx.in[3]) : null;
  const full: (number | null)[] = Array(r).fill(1);
  axes.forEach((a, i) => {
    if (sc && sc.length === axes.length) full[a] = sc[i];
    else if (yd[a] === xd[a] && xd[a] !== null) full[a] = 1;
    else if (isKnown(xd[a]) && sizes && sizes.length === axes.length) full[a] = sizes[i] / (xd[a] as number);
    else if (isKnown(xd[a]) && isKnown(yd[a])) full[a] = (yd[a] as number) / (xd[a] as number);
    else full[a] = null;
  });
  if (full.some((v) => v !== null && (!Number.isInteger(v) || v < 1))) ctx.fail(`only integer upscaling is supported (scales ${full.join(', ')})`);
  return full;
}

// Nearest upsampling by integer factors repeats each input in a block, so its gradient sums
// each block: dy reshaped to [..., d, s, ...] and reduced over the factor axes.
export const Resize: GradRule = {
  opType: 'Resize',
  inferShape: resizedShape(2, 3),
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    if (ctx.attr<string>('mode', 'nearest') !== 'nearest') ctx.fail(`mode '${ctx.attr<string>('mode')}' is not supported (nearest only)`);
    const scales = integerScales(ctx);
    const ctm = ctx.attr<string>('coordinate_transformation_mode', 'half_pixel');
    const nm = ctx.attr<string>('nearest_mode', 'round_prefer_floor');
    const xd = ctx.dims(ctx.in[0]);
    scales.forEach((s, i) => {
      const n = isKnown(xd[i]) ? (xd[i] as number) : null;
      const ok = s === null ? [2, 3, 4, 5].every((k) => isBlockRepeat(k, null, ctm, nm)) : s === 1 || isBlockRepeat(s, n, ctm, nm);
      if (!ok) ctx.fail(`${ctm}/${nm} at scale ${s ?? '(run-time)'} is not a block repeat`);
    });
    const pieces: (string | number)[] = [];
    const sumAxes: number[] = [];
    scales.forEach((s, i) => {
      pieces.push(isKnown(xd[i]) ? (xd[i] as number) : e.dimOf(ctx.in[0], i));
      if (s === null) { sumAxes.push(pieces.length); pieces.push(e.div(e.dimOf(ctx.out[0], i), e.dimOf(ctx.in[0], i))); }
      else if (s > 1) { sumAxes.push(pieces.length); pieces.push(s); }
    });
    if (sumAxes.length === 0) return ctx.dy()!;
    const shape = pieces.every((p) => typeof p === 'number')
      ? e.ints(pieces as number[])
      : e.concat(pieces.map((p) => (typeof p === 'number' ? e.ints([p]) : p)), 0);
    return e.reduceSum(e.reshape(ctx.dy()!, shape), sumAxes, false);
  }],
};
