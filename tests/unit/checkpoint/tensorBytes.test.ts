// The one-pass tensor conversion of `pack --from` (src/checkpoint/tensorBytes.ts) against the
// plain path it replaced: toFloat32, an element-wise transpose of the float32 values, and
// float32BytesToFloat16 for --fp16. Every dtype, both layouts, odd shapes (not multiples of the
// transpose's tiles), unaligned input, and the values where bits could slip: ±0, subnormals,
// the largest halves, ±Inf and NaNs of either sign.
import { describe, expect, it } from 'vitest';
import { float16TensorBytes, float32TensorBytes } from '../../../src/checkpoint/tensorBytes';
import { float32BytesToFloat16 } from '../../../src/packer/fp16';
import { encodeFloats, toFloat32 } from '../../../src/safetensors';
import type { WeightLayout } from '../../../src/models/layers';

const SPECIAL_HALVES = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7c01, 0x7e00, 0xfe00, 0xffff, 0x3c00, 0xbc00];

/** the plain path: float32 values, moved one by one from torch's [out, in] to the graph's [in, out] */
function plainFloat32(raw: Uint8Array, dtype: 'F16' | 'F32' | 'BF16' | 'F64', dims: number[], layout: WeightLayout): Uint8Array {
  const values = toFloat32({ name: 't', dtype, shape: dims, bytes: raw });
  let out = values;
  if (layout === 'transposed') {
    const [nIn, nOut] = dims;
    out = new Float32Array(values.length);
    for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) out[i * nOut + o] = values[o * nIn + i];
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** random halves with the special ones scattered in */
function halves(n: number, seed: number): Uint16Array {
  const h = new Uint16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    h[i] = i % 7 === 3 ? SPECIAL_HALVES[(x >>> 8) % SPECIAL_HALVES.length] : x >>> 16;
  }
  return h;
}

/** the same values in another dtype's bytes (F16 → float32 exactly, BF16/F64 from those values) */
function rawIn(dtype: 'F16' | 'F32' | 'BF16' | 'F64', h: Uint16Array): Uint8Array {
  const f16 = new Uint8Array(h.buffer.slice(0));
  return dtype === 'F16' ? f16 : encodeFloats(toFloat32({ name: 't', dtype: 'F16', shape: [h.length], bytes: f16 }), dtype);
}

/** `bytes` at an odd byte offset of a larger buffer, as a slice of a file read may be */
function unaligned(bytes: Uint8Array): Uint8Array {
  const b = new Uint8Array(bytes.byteLength + 1);
  b.set(bytes, 1);
  return b.subarray(1);
}

const SHAPES: [number[], WeightLayout][] = [[[3, 5], 'transposed'], [[70, 130], 'transposed'], [[129, 64], 'transposed'], [[1, 200], 'transposed'], [[2, 3, 3, 3], 'same'], [[1000], 'same']];

describe('one-pass tensor bytes (pack --from)', () => {
  for (const dtype of ['F16', 'F32', 'BF16', 'F64'] as const) {
    it(`${dtype} → float32: the plain path's bytes, both layouts, aligned or not`, () => {
      for (const [k, [dims, layout]] of SHAPES.entries()) {
        const raw = rawIn(dtype, halves(dims.reduce((a, b) => a * b, 1), 17 + k));
        const want = plainFloat32(raw.slice(), dtype, dims, layout);
        expect(Buffer.from(float32TensorBytes(raw.slice(), dtype, dims, layout, 't')).equals(Buffer.from(want)), `${dims} ${layout}`).toBe(true);
        expect(Buffer.from(float32TensorBytes(unaligned(raw), dtype, dims, layout, 't')).equals(Buffer.from(want)), `${dims} ${layout} unaligned`).toBe(true);
      }
    });
  }

  it('F16 → float16 for --fp16: what converting the float32 bytes gives, NaNs included', () => {
    for (const [k, [dims, layout]] of SHAPES.entries()) {
      const raw = rawIn('F16', halves(dims.reduce((a, b) => a * b, 1), 5 + k));
      const want = float32BytesToFloat16(plainFloat32(raw.slice(), 'F16', dims, layout), 't');
      expect(Buffer.from(float16TensorBytes(raw.slice(), dims, layout)).equals(Buffer.from(want)), `${dims} ${layout}`).toBe(true);
      expect(Buffer.from(float16TensorBytes(unaligned(raw), dims, layout)).equals(Buffer.from(want)), `${dims} ${layout} unaligned`).toBe(true);
    }
    // a view 2 bytes into its buffer (halves aligned, words not), with an odd count
    const odd = rawIn('F16', halves(1001, 3));
    const at2 = new Uint8Array(odd.byteLength + 2);
    at2.set(odd, 2);
    const wantOdd = float32BytesToFloat16(plainFloat32(odd.slice(), 'F16', [1001], 'same'), 't');
    expect(Buffer.from(float16TensorBytes(at2.subarray(2), [1001], 'same')).equals(Buffer.from(wantOdd))).toBe(true);
    // and the special values did occur, NaN among them
    const raw = new Uint16Array(float16TensorBytes(rawIn('F16', new Uint16Array(SPECIAL_HALVES)), [SPECIAL_HALVES.length], 'same').buffer);
    expect([...raw]).toEqual(SPECIAL_HALVES.map((h) => ((h & 0x7c00) === 0x7c00 && h & 0x3ff ? 0x7e00 : h)));
  });
});
