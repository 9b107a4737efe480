// Writing safetensors: tensors laid out back to back in the order given (the format forbids
// holes, so no alignment padding between them), the header padded with spaces so the byte
// buffer starts on an 8-byte boundary as the reference writer does.
import { SafetensorsError } from './errors';
import { dtypeBytes, type SafetensorsDtype } from './dtypes';
import { elementCount } from './decode';

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** little-endian bytes, exactly elementCount(shape) × dtype size */
  bytes: Uint8Array;
}

export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  // no prototype: a tensor called "__proto__" must be written as a key, not set the prototype
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError('bad-metadata', `metadata ${JSON.stringify(k)} is not a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new SafetensorsError('bad-tensor', 'a tensor cannot be called __metadata__');
    if (Object.prototype.hasOwnProperty.call(header, t.name)) throw new SafetensorsError('duplicate-key', `tensor ${JSON.stringify(t.name)} given twice`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsError('bad-shape', `tensor ${JSON.stringify(t.name)}: bad shape ${JSON.stringify(t.shape)}`);
    const need = elementCount(t.shape) * dtypeBytes(t.dtype);
    if (t.bytes.byteLength !== need) {
      throw new SafetensorsError('bad-tensor', `tensor ${JSON.stringify(t.name)}: ${t.dtype} ${JSON.stringify(t.shape)} needs ${need} bytes, got ${t.bytes.byteLength}`);
    }
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + need] };
    offset += need;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.byteLength) / 8) * 8 - 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  let pos = 8 + padded;
  for (const t of tensors) {
    out.set(t.bytes, pos);
    pos += t.bytes.byteLength;
  }
  return out;
}
