// --fp16, the weights: each large float32 initializer W becomes a float16 initializer `W::fp16`
// and a Cast back to float32 named W, so every node, the LoRA slots and the train graph's
// autodiff see exactly the graph they saw before, and the download and the files halve.
// The forward graphs then go through convertToFloat16 (src/onnx/toFloat16.ts), which turns
// those Casts into float16 no-ops and computes in float16; the train graphs are differentiated
// from those float16 forward graphs, so they compute in float16 too, with float32 where
// convertToFloat16 keeps it (normalization statistics, the timestep's sines) and at the graph's
// edges (LoRA factors, the prediction and the loss, every gradient output), and a static loss
// scale (float16LossScale) against underflow. All read the same `W::fp16` bytes in the chunks;
// weightsOnce.ts keeps onnxruntime from folding the weights' chains into copies.
import { onnx, tensorDims, type ModelProto, type NodeProto, type TensorProto } from '../onnx';
import { toHalf } from '../onnx/float16';
import { PackInputError } from './errors';

export const FP16_SUFFIX = '::fp16';

export interface Fp16Result {
  model: ModelProto;
  /** names of the float16 initializers whose bytes the writer converts from the source's float32 */
  converted: Set<string>;
}

/** float32 initializers of at least `minBytes` become float16 + Cast; smaller ones (scalars, shapes) stay exact. */
export function storeWeightsAsFp16(model: ModelProto, minBytes: number): Fp16Result {
  const graph = model.graph!;
  const converted = new Set<string>();
  const casts: NodeProto[] = [];
  const initializer = (graph.initializer ?? []).map((t) => {
    const count = tensorDims(t).reduce((a, b) => a * b, 1);
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || count * 4 < minBytes) return t;
    const name = `${t.name}${FP16_SUFFIX}`;
    converted.add(name);
    casts.push(onnx.NodeProto.create({
      name: `/fp16_weights/${t.name}/Cast`, opType: 'Cast', domain: '', input: [name], output: [t.name!],
      attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT }],
    }));
    // same bytes (inline or external), relabelled: the writer converts them as it copies
    const copy: TensorProto = { ...t, name, dataType: onnx.TensorProto.DataType.FLOAT16 };
    return copy;
  });
  return { model: { ...model, graph: { ...graph, initializer, node: [...casts, ...(graph.node ?? [])] } }, converted };
}

/** float32 bits of 2^-14, float16's smallest normal: below it a value becomes a subnormal half */
const MIN_NORMAL_HALF_BITS = 0x38800000;
/** float32 bits of 65504, float16's largest finite value */
const MAX_HALF_BITS = 0x477fe000;
const INFINITY_BITS = 0x7f800000;

/**
 * float32 little-endian bytes → float16 bytes; a finite value beyond float16's range is an error.
 * A checkpoint's billion weights are almost all in float16's normal range, where the conversion is
 * integer arithmetic on the bits (rebias the exponent, round the mantissa to nearest even): about
 * 10× faster than going through a number per value. Zeros, subnormals, infinities and NaNs take
 * toHalf, so every output bit is toHalf's (tests/unit/packer/units.test.ts compares both).
 * `alloc` gives the output's buffer (a pool's: every byte of the returned view is overwritten).
 */
export function float32BytesToFloat16(bytes: Uint8Array, tensor: string, alloc: (byteLength: number) => ArrayBuffer = (n) => new ArrayBuffer(n)): Uint8Array {
  if (bytes.byteLength % 4) throw new Error(`tensor ${tensor}: ${bytes.byteLength} bytes is not a whole number of float32`);
  // Uint8Array#slice copies (a Buffer's slice would be another unaligned view)
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
  const src = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const bits = new Uint32Array(aligned.buffer, aligned.byteOffset, src.length);
  const out = new Uint16Array(alloc(2 * src.length), 0, src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    const abs = x & 0x7fffffff;
    if (abs >= MIN_NORMAL_HALF_BITS && abs <= MAX_HALF_BITS) {
      // exponent 127 → 15 is −112 << 23; adding 0xfff plus the kept mantissa's last bit before the
      // shift rounds half to even, and a carry out of the mantissa correctly bumps the exponent
      out[i] = ((x >>> 16) & 0x8000) | ((abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13);
    } else if (abs > MAX_HALF_BITS && abs < INFINITY_BITS) {
      throw new PackInputError('options', `--fp16: tensor ${tensor} holds ${src[i]}, beyond float16's range (±65504); pack it without --fp16`);
    } else {
      out[i] = toHalf(src[i]);
    }
  }
  return new Uint8Array(out.buffer, 0, out.byteLength);
}

/**
 * The static loss scale of a float16 train graph whose prediction has `elements` values: a power
 * of two that makes ∂loss/∂prediction per element as large as a 256-value mean's, the tiny
 * pack's 4×8×8 latent, whose float16 gradients are measured against float32 in
 * tests/unit/packer/fp16Train.test.ts. (SD1.5's 4×64×64 at 512 px: 64.)
 */
export function float16LossScale(elements: number): number {
  return 2 ** Math.max(0, Math.round(Math.log2(elements / 256)));
}
