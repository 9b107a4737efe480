// Turning a tensor's raw little-endian bytes into numbers, and numbers into bytes.
import { fromHalf, toHalf } from '../onnx/float16';
import { SafetensorsError } from './errors';
import type { SafetensorsDtype } from './dtypes';
import type { RawTensor } from './read';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let HALF_TABLE: Float32Array | null = null;
function halfTable(): Float32Array {
  if (!HALF_TABLE) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALF_TABLE[h] = fromHalf(h);
  }
  return HALF_TABLE;
}

/** The same table as float32 bit patterns: copying bits keeps exactly what toFloat32 stores. */
export function halfToFloat32Bits(): Uint32Array {
  const t = halfTable();
  return new Uint32Array(t.buffer, t.byteOffset, t.length);
}

/** Whether typed-array views read safetensors' little-endian bytes directly. */
export const HOST_IS_LITTLE_ENDIAN = LITTLE_ENDIAN;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The tensor's values as float32 (F32, F16, BF16, F64; copied, aligned). */
export function toFloat32(t: RawTensor): Float32Array {
  const b = t.bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (t.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(b.slice().buffer);
      const out = new Float32Array(b.byteLength / 4);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(b.byteLength / 2);
      if (LITTLE_ENDIAN && b.byteOffset % 2 === 0) {
        // a table of all 65,536 halves: checkpoints hold a billion of them
        const table = halfTable();
        const halves = new Uint16Array(b.buffer, b.byteOffset, out.length);
        for (let i = 0; i < out.length; i++) out[i] = table[halves[i]];
        return out;
      }
      for (let i = 0; i < out.length; i++) out[i] = fromHalf(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32
      const out = new Float32Array(b.byteLength / 2);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(b.byteLength / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    default:
      throw new SafetensorsError('bad-dtype', `tensor ${JSON.stringify(t.name)} is ${t.dtype}, expected a float type`);
  }
}

/** Integer tensors (I32, I64 and the small ints) as JS numbers; I64/U64 must be safe integers. */
export function toNumbers(t: RawTensor): number[] {
  const b = t.bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const read: Partial<Record<SafetensorsDtype, [number, (o: number) => number]>> = {
    BOOL: [1, (o) => view.getUint8(o)],
    U8: [1, (o) => view.getUint8(o)],
    I8: [1, (o) => view.getInt8(o)],
    I16: [2, (o) => view.getInt16(o, true)],
    U16: [2, (o) => view.getUint16(o, true)],
    I32: [4, (o) => view.getInt32(o, true)],
    U32: [4, (o) => view.getUint32(o, true)],
    I64: [8, (o) => Number(view.getBigInt64(o, true))],
    U64: [8, (o) => Number(view.getBigUint64(o, true))],
  };
  const r = read[t.dtype];
  if (!r) return Array.from(toFloat32(t));
  const [size, get] = r;
  const out: number[] = [];
  for (let o = 0; o < b.byteLength; o += size) {
    const v = get(o);
    if (!Number.isSafeInteger(v)) throw new SafetensorsError('bad-tensor', `tensor ${JSON.stringify(t.name)} holds an integer beyond 2^53`);
    out.push(v);
  }
  return out;
}

/** Little-endian bytes of float values in the given float dtype. */
export function encodeFloats(values: ArrayLike<number>, dtype: 'F32' | 'F16' | 'BF16' | 'F64'): Uint8Array {
  const n = values.length;
  const size = dtype === 'F64' ? 8 : dtype === 'F32' ? 4 : 2;
  const out = new Uint8Array(n * size);
  const view = new DataView(out.buffer);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    switch (dtype) {
      case 'F32': view.setFloat32(4 * i, v, true); break;
      case 'F64': view.setFloat64(8 * i, v, true); break;
      case 'F16': view.setUint16(2 * i, toHalf(v), true); break;
      case 'BF16': {
        // round to nearest even on the dropped 16 bits; NaN stays NaN
        f32[0] = v;
        const x = u32[0];
        const h = Number.isNaN(v) ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
        view.setUint16(2 * i, h & 0xffff, true);
        break;
      }
    }
  }
  return out;
}

/** Little-endian bytes of integer values (I64 through BigInt). */
export function encodeInts(values: ArrayLike<number>, dtype: 'I32' | 'I64' | 'U8' | 'I8' | 'I16' | 'U16' | 'U32' | 'BOOL'): Uint8Array {
  const size = dtype === 'I64' ? 8 : dtype === 'I32' || dtype === 'U32' ? 4 : dtype === 'I16' || dtype === 'U16' ? 2 : 1;
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    switch (dtype) {
      case 'I64': view.setBigInt64(8 * i, BigInt(v), true); break;
      case 'I32': view.setInt32(4 * i, v, true); break;
      case 'U32': view.setUint32(4 * i, v, true); break;
      case 'I16': view.setInt16(2 * i, v, true); break;
      case 'U16': view.setUint16(2 * i, v, true); break;
      case 'I8': view.setInt8(i, v); break;
      case 'U8': case 'BOOL': view.setUint8(i, v); break;
    }
  }
  return out;
}
