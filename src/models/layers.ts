// The torch modules the Stable Diffusion graphs are made of, written as the node patterns
// torch.onnx / the diffusers export emit for them, so passes written against these graphs
// (LoRA lookup, autodiff, fp16) meet the same structure a real SD1.5 export has.
import { GraphBuilder, float, type TensorProto } from '../onnx';
import { WeightInit } from './init';

/** One LoRA-able projection: its diffusers module path and its size (y = x·W, W is [nIn, nOut]). */
export interface LoraSlot { name: string; nIn: number; nOut: number }

/** The free dimension every slot input shares, so one graph serves any LoRA rank. */
export const LORA_RANK_DIM = 'lora_rank';

/**
 * How a checkpoint stores a parameter against the builder's `dims`: 'same' (same element order;
 * trailing 1s may differ, e.g. GroupNorm's [C] for [C, 1, 1]) or 'transposed' (a torch Linear's
 * [out, in] — or a 1×1 conv's [out, in, 1, 1] — for the builder's [in, out]).
 */
export type WeightLayout = 'same' | 'transposed';

/** Where parameters come from when not from the seeded init: a checkpoint, by diffusers module path. */
export interface WeightSource {
  tensor(name: string, dims: number[], layout: WeightLayout): TensorProto;
}

/** What every builder needs: the graph, the seeded weights, and whether projections get slots. */
export class Net {
  readonly slots: LoraSlot[] = [];
  constructor(readonly b: GraphBuilder, readonly init: WeightInit, readonly loraSlots: boolean, readonly weights?: WeightSource) {}

  scope<T>(name: string, fn: () => T): T { return this.b.scope(name, fn); }

  /** A parameter of the current module: from `weights` when given, else `random()` (called in the same order either way). */
  param(leaf: string, dims: number[], random: () => Float32Array, layout: WeightLayout = 'same'): string {
    const w = this.weights;
    if (!w) return this.b.param(leaf, random(), dims);
    return this.b.paramTensor(leaf, (name) => w.tensor(name, dims, layout));
  }
}

export function silu(n: Net, x: string): string {
  const { b } = n;
  return b.op1('Mul', [x, b.op1('Sigmoid', [x])]);
}

/** GELU in the Erf form: x · ½ · (1 + erf(x/√2)). */
export function geluErf(n: Net, x: string): string {
  const { b } = n;
  const e = b.op1('Erf', [b.op1('Div', [x, b.scalar(Math.SQRT2)])]);
  const t = b.op1('Mul', [x, b.op1('Add', [e, b.scalar(1)])]);
  return b.op1('Mul', [t, b.scalar(0.5)]);
}

/** CLIP's quick GELU: x · sigmoid(1.702 x). */
export function quickGelu(n: Net, x: string): string {
  const { b } = n;
  return b.op1('Mul', [x, b.op1('Sigmoid', [b.op1('Mul', [x, b.scalar(1.702)])])]);
}

/** LayerNorm over the last axis, decomposed as the opset-14 export writes it. */
export function layerNorm(n: Net, name: string, x: string, dim: number, eps = 1e-5): string {
  const { b, init } = n;
  return n.scope(name, () => {
    const mean = b.op1('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const d = b.op1('Sub', [x, mean]);
    const v = b.op1('ReduceMean', [b.op1('Pow', [d, b.scalar(2)])], { axes: [-1], keepdims: 1 });
    const std = b.op1('Sqrt', [b.op1('Add', [v, b.scalar(eps)])]);
    const y = b.op1('Div', [d, std]);
    const g = n.param('weight', [dim], () => init.ones(dim));
    const beta = n.param('bias', [dim], () => init.zeros(dim));
    return b.op1('Add', [b.op1('Mul', [y, g]), beta]);
  });
}

/** GroupNorm on NCHW as the diffusers export writes it: Reshape → InstanceNormalization → Reshape → Mul → Add. */
export function groupNorm(n: Net, name: string, x: string, channels: number, groups: number, eps: number): string {
  const { b, init } = n;
  if (channels % groups !== 0) throw new Error(`${name}: ${channels} channels do not split into ${groups} groups`);
  return n.scope(name, () => {
    const grouped = b.op1('Reshape', [x, b.ints([0, groups, -1])]);
    const normed = b.op1('InstanceNormalization', [grouped, b.constant(init.ones(groups), [groups]), b.constant(init.zeros(groups), [groups])], { epsilon: eps });
    const back = b.op1('Reshape', [normed, b.op1('Shape', [x])]);
    const g = n.param('weight', [channels, 1, 1], () => init.ones(channels));
    const beta = n.param('bias', [channels, 1, 1], () => init.zeros(channels));
    return b.op1('Add', [b.op1('Mul', [back, g]), beta]);
  });
}

export interface ConvOptions { kernel?: number; stride?: number; pads?: [number, number, number, number] }

export function conv2d(n: Net, name: string, x: string, cin: number, cout: number, opts: ConvOptions = {}): string {
  const { b, init } = n;
  const k = opts.kernel ?? 3;
  const p = (k - 1) / 2;
  const pads = opts.pads ?? [p, p, p, p];
  const s = opts.stride ?? 1;
  return n.scope(name, () => {
    const w = n.param('weight', [cout, cin, k, k], () => init.fanIn(cout * cin * k * k, cin * k * k));
    const bias = n.param('bias', [cout], () => init.bias(cout));
    // kernel_shape written out: onnxruntime-web's WebGPU Conv needs it
    return b.op1('Conv', [x, w, bias], { dilations: [1, 1], group: 1, kernel_shape: [k, k], pads, strides: [s, s] });
  });
}

/** nn.Linear on a 2-D input: torch exports it as Gemm with the [out, in] weight. */
export function gemm(n: Net, name: string, x: string, nIn: number, nOut: number): string {
  const { b, init } = n;
  return n.scope(name, () => {
    const w = n.param('weight', [nOut, nIn], () => init.fanIn(nOut * nIn, nIn));
    const bias = n.param('bias', [nOut], () => init.bias(nOut));
    return b.op1('Gemm', [x, w, bias], { alpha: float(1), beta: float(1), transB: 1 });
  });
}

export interface LinearOptions { bias?: boolean; lora?: boolean }

/**
 * nn.Linear on a 3-D input: MatMul with the pre-transposed [in, out] weight, then Add(bias).
 * With `lora` and slots enabled the MatMul's result also gets x·down·up, from the slot's graph
 * inputs `lora.<module path>.down` [in, r] and `.up` [r, out], with the node names and placement
 * (before the bias) that `insertLoraSlots` gives a real export: `<module>/lora/down/MatMul`,
 * `<module>/lora/up/MatMul`, `<module>/lora/Add`.
 */
export function linear(n: Net, name: string, x: string, nIn: number, nOut: number, opts: LinearOptions = {}): string {
  const { b, init } = n;
  return n.scope(name, () => {
    // stored in ONNX orientation [in, out] (the export's transposed copy of torch's [out, in])
    const w = n.param('weight', [nIn, nOut], () => init.fanIn(nIn * nOut, nIn), 'transposed');
    let y = b.op1('MatMul', [x, w]);
    if (opts.lora) {
      const path = b.modulePath;
      n.slots.push({ name: path, nIn, nOut });
      if (n.loraSlots) {
        const down = b.input(`lora.${path}.down`, 'float32', [nIn, LORA_RANK_DIM]);
        const up = b.input(`lora.${path}.up`, 'float32', [LORA_RANK_DIM, nOut]);
        const base = y;
        y = n.scope('lora', () => {
          const xDown = n.scope('down', () => b.op1('MatMul', [x, down]));
          const delta = n.scope('up', () => b.op1('MatMul', [xDown, up]));
          return b.op1('Add', [base, delta]);
        });
      }
    }
    if (opts.bias ?? true) y = b.op1('Add', [y, n.param('bias', [nOut], () => init.bias(nOut))]);
    return y;
  });
}

/**
 * Scaled dot-product attention over already-projected q [B, Nq, H·d], k and v [B, Nk, H·d]:
 * split heads, softmax(q·kᵀ/√d + mask)·v, merge heads. Returns [B, Nq, H·d].
 */
export function attentionCore(n: Net, q: string, k: string, v: string, heads: number, headDim: number, mask?: string): string {
  const { b } = n;
  const split = (t: string) => b.op1('Transpose', [b.op1('Reshape', [t, b.ints([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
  const qh = split(q);
  const kt = b.op1('Transpose', [b.op1('Reshape', [k, b.ints([0, 0, heads, headDim])])], { perm: [0, 2, 3, 1] });
  const vh = split(v);
  let scores = b.op1('Mul', [b.op1('MatMul', [qh, kt]), b.scalar(1 / Math.sqrt(headDim))]);
  if (mask) scores = b.op1('Add', [scores, mask]);
  const probs = b.op1('Softmax', [scores], { axis: -1 });
  const ctx = b.op1('Transpose', [b.op1('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] });
  return b.op1('Reshape', [ctx, b.ints([0, 0, heads * headDim])]);
}

/** [B, C, H, W] → [B, H·W, C] */
export function toTokens(n: Net, x: string, channels: number): string {
  const { b } = n;
  return b.op1('Reshape', [b.op1('Transpose', [x], { perm: [0, 2, 3, 1] }), b.ints([0, -1, channels])]);
}

/** [B, H·W, C] → [B, C, H, W] */
export function fromTokens(n: Net, x: string, channels: number, height: number, width: number): string {
  const { b } = n;
  return b.op1('Transpose', [b.op1('Reshape', [x, b.ints([0, height, width, channels])])], { perm: [0, 3, 1, 2] });
}

/** F.interpolate(scale_factor=2, mode="nearest") as torch exports it. */
export function upsampleNearest2x(n: Net, x: string): string {
  const { b } = n;
  return b.op1('Resize', [x, '', b.constant(new Float32Array([1, 1, 2, 2]), [4])], {
    coordinate_transformation_mode: 'asymmetric', cubic_coeff_a: -0.75, mode: 'nearest', nearest_mode: 'floor',
  });
}
