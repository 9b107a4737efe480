// A checkpoint tensor's bytes as the pack stores them, in one pass: float32 (or float16 for
// --fp16 from an F16 file), transposed from torch's [out, in] where the graph wants [in, out].
// Checkpoints hold a billion values, so this works on typed-array views in blocks instead of
// converting to a Float32Array and then moving floats one by one; the bytes are exactly those
// of the plain path (toFloat32, an element-wise transpose, float32BytesToFloat16), which
// tests/unit/checkpoint/tensorBytes.test.ts checks on every dtype and on the special values.
// (One difference: a signalling NaN in an F32 file keeps its bits where the float copy of the
// plain path quieted it; no trained weight holds one.)
import { HOST_IS_LITTLE_ENDIAN, halfToFloat32Bits, toFloat32, type SafetensorsDtype } from '../safetensors';
import type { WeightLayout } from '../models/layers';

/**
 * Tile side of the blocked transpose. Within a tile the output is written in runs along its rows
 * and the input read down its columns: the other order (rows of the input) aliases in the cache
 * when the output's row stride is a multiple of 4 KiB (ff.net.0.proj: 10240 rows of 2 bytes),
 * 11 ns against 2.3 ns per value (measured for these shapes).
 */
const TILE = 32;

/** The float16 NaN float32BytesToFloat16 writes for every NaN (toHalf of JS's one NaN). */
const HALF_NAN = 0x7e00;

/** where an output goes: a buffer of at least this many bytes, every one of which is overwritten */
export type Alloc = (byteLength: number) => ArrayBuffer;
const fresh: Alloc = (n) => new ArrayBuffer(n);

const aligned = (b: Uint8Array, to: number): Uint8Array => (b.byteOffset % to === 0 ? b : b.slice());
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * float32 bytes of a tensor read raw from the file (F32, F16, BF16, F64), in the graph's
 * orientation: `dims` are the graph's, [nIn, nOut] when `layout` is 'transposed'.
 */
export function float32TensorBytes(raw: Uint8Array, dtype: SafetensorsDtype, dims: readonly number[], layout: WeightLayout, name: string, alloc: Alloc = fresh): Uint8Array {
  const transposed = layout === 'transposed';
  const [nIn, nOut] = dims;
  if (HOST_IS_LITTLE_ENDIAN && dtype === 'F16') {
    const a = aligned(raw, 2);
    const halves = new Uint16Array(a.buffer, a.byteOffset, a.byteLength / 2);
    const out = new Uint32Array(alloc(4 * halves.length), 0, halves.length);
    const table = halfToFloat32Bits();
    if (transposed) transposeHalvesToFloats(halves, table, out, nOut, nIn);
    else for (let i = 0; i < out.length; i++) out[i] = table[halves[i]];
    return bytesOf(out);
  }
  if (HOST_IS_LITTLE_ENDIAN && dtype === 'F32') {
    const a = aligned(raw, 4);
    if (!transposed) return a;
    const out = new Uint32Array(alloc(a.byteLength), 0, a.byteLength / 4);
    transpose32(new Uint32Array(a.buffer, a.byteOffset, out.length), out, nOut, nIn);
    return bytesOf(out);
  }
  // BF16, F64, a big-endian host: the general decoder, then the transpose on its bits
  const values = toFloat32({ name, dtype, shape: [...dims], bytes: raw });
  if (!transposed) return bytesOf(values);
  const out = new Uint32Array(values.length);
  transpose32(new Uint32Array(values.buffer, values.byteOffset, values.length), out, nOut, nIn);
  return bytesOf(out);
}

/**
 * float16 bytes of an F16 tensor for a --fp16 pack without the round trip through float32 (every
 * half is exact in float32 and back, and NaNs come out as the one NaN that round trip gives).
 */
export function float16TensorBytes(raw: Uint8Array, dims: readonly number[], layout: WeightLayout, alloc: Alloc = fresh): Uint8Array {
  const a = aligned(raw, 2);
  const halves = new Uint16Array(a.buffer, a.byteOffset, a.byteLength / 2);
  let out: Uint16Array;
  if (layout === 'transposed') {
    out = new Uint16Array(alloc(2 * halves.length), 0, halves.length);
    transpose16(halves, out, dims[1], dims[0]);
  } else {
    out = halves;
  }
  oneNaN(out);
  return bytesOf(out);
}

/** Every NaN → HALF_NAN, looking at two halves at once where they are 4-byte aligned (a NaN or an infinity has all exponent bits set). */
function oneNaN(out: Uint16Array): void {
  if (out.byteOffset % 4) {
    for (let i = 0; i < out.length; i++) oneNaNAt(out, i);
    return;
  }
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 1);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if ((w & 0x7c00) === 0x7c00 || (w & 0x7c000000) === 0x7c000000) {
      oneNaNAt(out, 2 * i);
      oneNaNAt(out, 2 * i + 1);
    }
  }
  if (out.length & 1) oneNaNAt(out, out.length - 1);
}

function oneNaNAt(out: Uint16Array, i: number): void {
  const h = out[i];
  if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) out[i] = HALF_NAN;
}

/** src [rows, cols] → out [cols, rows], tile by tile (src rows are torch's outputs). */
function transposeHalvesToFloats(src: Uint16Array, table: Uint32Array, out: Uint32Array, rows: number, cols: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const to = c * rows;
        for (let r = r0; r < r1; r++) out[to + r] = table[src[r * cols + c]];
      }
    }
  }
}

function transpose32(src: Uint32Array, out: Uint32Array, rows: number, cols: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const to = c * rows;
        for (let r = r0; r < r1; r++) out[to + r] = src[r * cols + c];
      }
    }
  }
}

function transpose16(src: Uint16Array, out: Uint16Array, rows: number, cols: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const to = c * rows;
        for (let r = r0; r < r1; r++) out[to + r] = src[r * cols + c];
      }
    }
  }
}
