// Shared pieces of the Conv and ConvTranspose rules: the output size (pools share it), their
// attributes with the defaults and auto_pad resolved, and the weight gradient as one Conv that
// runs over the batch axis.
import type { GradContext, ShapeContext } from '../types';
import type { AttrValue } from '../../onnx';
import { type Dim, isKnown, mulDim, opaque } from '../dims';

/**
 * The output shape of a Conv, ConvTranspose (`transposed`) or pooling node; symbolic spatial
 * sizes stay symbolic where the size is preserved, else become an opaque `conv(...)` atom.
 */
export function convOutputShape(ctx: ShapeContext, transposed: boolean): Dim[] | null {
  const x = ctx.inputShape(0), w = ctx.inputShape(1);
  if (!x) return null;
  const nd = x.length - 2;
  if (nd < 1) return null;
  const kernel = ctx.attr<number[]>('kernel_shape') ?? (w ? w.slice(2) : null);
  if (!kernel) return null;
  const strides = ctx.attr<number[]>('strides') ?? Array(nd).fill(1);
  const dil = ctx.attr<number[]>('dilations') ?? Array(nd).fill(1);
  const pads = ctx.attr<number[]>('pads') ?? Array(2 * nd).fill(0);
  const autoPad = ctx.attr<string>('auto_pad', 'NOTSET');
  const group = ctx.attr<number>('group', 1);
  const out: Dim[] = [x[0]];
  if (ctx.node.opType === 'ConvTranspose') out.push(w ? mulDim(w[1], group) : null);
  else if (ctx.node.opType === 'Conv') out.push(w ? w[0] : null);
  else out.push(x[1]);
  const outputShape = ctx.attr<number[]>('output_shape');
  for (let i = 0; i < nd; i++) {
    const d = x[i + 2];
    const k = kernel[i];
    if (!isKnown(k as Dim)) { out.push(null); continue; }
    const ke = ((k as number) - 1) * dil[i] + 1;
    const s = strides[i];
    if (transposed) {
      if (outputShape) { out.push(outputShape[i]); continue; }
      const op = (ctx.attr<number[]>('output_padding') ?? [])[i] ?? 0;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') { out.push(mulDim(d, s)); continue; }
      const extra = op + ke - pads[i] - pads[i + nd];
      out.push(isKnown(d) ? s * (d - 1) + extra : extra === s ? mulDim(d, s) : opaque('convT', [d, s, extra]));
      continue;
    }
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(isKnown(d) ? Math.ceil(d / s) : s === 1 ? d : opaque('ceildiv', [d, s]));
      continue;
    }
    const pb = autoPad === 'VALID' ? 0 : pads[i];
    const pe = autoPad === 'VALID' ? 0 : pads[i + nd];
    const ceil = ctx.attr<number>('ceil_mode', 0);
    if (isKnown(d)) {
      const v = (d + pb + pe - ke) / s;
      out.push((ceil ? Math.ceil(v) : Math.floor(v)) + 1);
    } else if (s === 1 && pb + pe === ke - 1) {
      out.push(d);
    } else {
      out.push(opaque('conv', [d, ke, s, pb + pe, ceil]));
    }
  }
  return out;
}

export interface ConvAttrs {
  nd: number;
  kernel: number[] | null;
  strides: number[];
  dilations: number[];
  /** [begin..., end...] */
  pads: number[];
  group: number;
}

export function convAttrs(ctx: GradContext): ConvAttrs {
  const x = ctx.in[0];
  const nd = ctx.rank(x) - 2;
  const wd = ctx.dims(ctx.in[1]).slice(2);
  const kernel = ctx.attr<number[]>('kernel_shape') ?? (wd.every(isKnown) ? (wd as number[]) : null);
  const strides = ctx.attr<number[]>('strides') ?? Array(nd).fill(1);
  const dilations = ctx.attr<number[]>('dilations') ?? Array(nd).fill(1);
  let pads = ctx.attr<number[]>('pads') ?? Array(2 * nd).fill(0);
  const autoPad = ctx.attr<string>('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = Array(2 * nd).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const xd = ctx.dims(x).slice(2);
    if (!kernel || !xd.every(isKnown) || ctx.node.opType !== 'Conv') ctx.fail(`auto_pad ${autoPad} needs static spatial sizes`);
    pads = Array(2 * nd).fill(0);
    for (let i = 0; i < nd; i++) {
      const n = xd[i] as number;
      const out = Math.ceil(n / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel![i] - 1) * dilations[i] + 1 - n);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + nd] = total - pads[i];
    }
  }
  return { nd, kernel, strides, dilations, pads, group: ctx.attr<number>('group', 1) };
}

export const spatialAxes = (nd: number) => Array.from({ length: nd }, (_, i) => i + 2);
/** [1, 0, 2, 3, ...]: swaps the batch and channel axes */
export const swapNC = (nd: number) => [1, 0, ...spatialAxes(nd)];

/**
 * ∂L/∂W of `out = conv(inp, W)` given `gOut` = ∂L/∂out: W'[o, c, k] = Σ_{n,p} gOut[n,o,p]·inp[n,c,p·s+k·d−pad].
 * That is a Conv whose "batch" is inp's channels and whose "channels" are the batch, with the
 * roles of strides and dilations exchanged; with groups, each group's channels become
 * separate input channels of a grouped conv. The result can be longer than the kernel (when the
 * forward conv dropped trailing positions), so it is cut to `kernelOf`'s spatial size.
 */
export function weightGrad(ctx: GradContext, inp: string, inpName: string, gOut: string, gOutLike: string, kernelOf: string, a: ConvAttrs): string {
  const { e } = ctx;
  const { nd, group: g } = a;
  let xs: string;
  if (g === 1) {
    xs = e.transpose(inp, swapNC(nd));
  } else {
    const spatialShape = e.slice(e.shapeOf(inpName), [2], [nd + 2], [0]);
    const split = e.reshape(inp, e.concat([e.ints([0, g, -1]), spatialShape], 0)); // [N, g, C/g, ...]
    const t = e.transpose(split, [2, 1, 0, ...spatialAxes(nd).map((i) => i + 1)]); // [C/g, g, N, ...]
    xs = e.reshape(t, e.concat([e.ints([0, -1]), spatialShape], 0)); // [C/g, g·N, ...]
  }
  const ws = e.transpose(gOut, swapNC(nd)); // [O, N, ...]
  const attrs: Record<string, AttrValue> = { strides: a.dilations, dilations: a.strides, pads: a.pads, group: g };
  // the "kernel" is dy's spatial extent; spelled out when static (onnxruntime-web's WebGPU Conv wants it)
  const yd = ctx.dims(gOutLike).slice(2);
  if (yd.every(isKnown)) attrs.kernel_shape = yd as number[];
  const r = e.op1('Conv', [xs, ws], attrs);
  let dw = e.transpose(r, swapNC(nd)); // [O, C/g, k'...]
  const kd = ctx.dims(kernelOf).slice(2);
  const kernel = kd.every(isKnown) ? (kd as number[]) : null;
  const ends = kernel ? kernel : e.slice(e.shapeOf(kernelOf), [2], [nd + 2], [0]);
  dw = e.slice(dw, Array(nd).fill(0), ends, spatialAxes(nd));
  return dw;
}

export function biasGrad(ctx: GradContext, dy: string, nd: number): string {
  return ctx.e.reduceSum(dy, [0, ...spatialAxes(nd)], false);
}
