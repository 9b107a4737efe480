// A safetensors reader that treats the file as hostile: every length, offset, dtype and shape in
// the header is checked against the others and against the file before one tensor byte is used.
// The rules are those of the format's specification (huggingface/safetensors README):
// u64 LE header length N, N bytes of UTF-8 JSON starting with '{' (trailing spaces allowed),
// then a byte buffer that the tensors' data_offsets must index completely — no holes, no
// overlaps — in little-endian, C order. Duplicate keys are not allowed.
import { SafetensorsError } from './errors';
import { dtypeBytes, isSafetensorsDtype, type SafetensorsDtype } from './dtypes';
import { isJsonObject, JsonSyntaxError, parseStrictJson, type JsonValue } from './json';

/** The reference implementation's limit; real headers are at most a few MB. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface RawTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** a view into the file's bytes (not copied, possibly unaligned) */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** in header order */
  tensors: Map<string, RawTensor>;
}

const fail = (code: ConstructorParameters<typeof SafetensorsError>[0], msg: string): never => {
  throw new SafetensorsError(code, msg);
};

/** Tighter bounds a caller knows for its kind of file (a LiDB for a given pack, say). */
export interface SafetensorsLimits {
  /** header bytes (default MAX_HEADER_BYTES) */
  maxHeaderBytes?: number;
  /** tensors in the header */
  maxTensors?: number;
  /** what the limits are of, for the message: "a LiDB for this pack's 128 layers" */
  what?: string;
}

function readHeaderLength(bytes: Uint8Array, limits: SafetensorsLimits): number {
  const max = Math.min(limits.maxHeaderBytes ?? MAX_HEADER_BYTES, MAX_HEADER_BYTES);
  if (bytes.byteLength < 8) {
    fail('truncated', `file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo > max) {
    const n = BigInt(hi) * 2n ** 32n + BigInt(lo);
    fail('header-too-large', `header length ${n} is over the ${max}-byte limit${limits.what ? ` of ${limits.what}` : ''}`);
  }
  return lo;
}

function parseShape(name: string, v: JsonValue | undefined): number[] {
  if (!Array.isArray(v)) return fail('bad-shape', `tensor ${JSON.stringify(name)}: shape is not a list`);
  return v.map((d) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail('bad-shape', `tensor ${JSON.stringify(name)}: shape ${JSON.stringify(v)} has a dimension that is not a non-negative integer`);
    }
    return d as number;
  });
}

function parseOffsets(name: string, v: JsonValue | undefined): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) {
    return fail('bad-offsets', `tensor ${JSON.stringify(name)}: data_offsets is not a [begin, end] pair`);
  }
  const [b, e] = v;
  if (typeof b !== 'number' || typeof e !== 'number' || !Number.isSafeInteger(b) || !Number.isSafeInteger(e) || b < 0 || e < b) {
    fail('bad-offsets', `tensor ${JSON.stringify(name)}: data_offsets ${JSON.stringify(v)} is not 0 ≤ begin ≤ end`);
  }
  return [b as number, e as number];
}

/** Bytes a tensor of this dtype and shape needs, or -1 if that exceeds `limit` (no overflow). */
function byteLength(dtype: SafetensorsDtype, shape: number[], limit: number): number {
  let n = dtypeBytes(dtype);
  for (const d of shape) {
    if (d === 0) return 0;
  }
  for (const d of shape) {
    n *= d;
    if (n > limit) return -1;
  }
  return n;
}

function decodeHeaderText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail('bad-header', 'header is not valid UTF-8');
  }
}

/** One tensor's place in the file: [begin, end) relative to the start of the byte buffer. */
export interface TensorEntry { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** in header order */
  entries: TensorEntry[];
  /** where the byte buffer starts in the file: 8 + header length */
  dataStart: number;
}

/** The header length from the file's first 8 bytes, checked against the limit. */
export function safetensorsHeaderLength(first8: Uint8Array, limits: SafetensorsLimits = {}): number {
  return readHeaderLength(first8, limits);
}

/**
 * Parses and checks the header alone (the JSON bytes after the 8-byte length), given how many
 * bytes follow it in the file: what a streaming reader needs before it reads any tensor.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, limits: SafetensorsLimits = {}): SafetensorsHeader {
  const n = headerBytes.byteLength;
  const text = decodeHeaderText(headerBytes);
  if (text[0] !== '{') fail('bad-header', 'header does not start with "{"');
  let root: JsonValue;
  try {
    root = parseStrictJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      if (e.duplicateKey !== undefined) fail('duplicate-key', `header names ${JSON.stringify(e.duplicateKey)} twice`);
      fail('bad-header', `header is not valid JSON: ${e.message}`);
    }
    throw e;
  }
  if (!isJsonObject(root)) return fail('bad-header', 'header is not a JSON object');
  if (limits.maxTensors !== undefined) {
    const count = Object.keys(root).length - (Object.prototype.hasOwnProperty.call(root, '__metadata__') ? 1 : 0);
    if (count > limits.maxTensors) fail('header-too-large', `header lists ${count} tensors, more than the ${limits.maxTensors}${limits.what ? ` of ${limits.what}` : ''}`);
  }

  const metadata: Record<string, string> = Object.create(null);
  const meta = root.__metadata__;
  if (meta !== undefined && meta !== null) {
    if (!isJsonObject(meta)) fail('bad-metadata', '__metadata__ is not an object');
    for (const [k, v] of Object.entries(meta as Record<string, JsonValue>)) {
      if (typeof v !== 'string') fail('bad-metadata', `__metadata__ value of ${JSON.stringify(k)} is a ${v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v}, not a string`);
      metadata[k] = v as string;
    }
  }

  const entries: TensorEntry[] = [];
  for (const [name, info] of Object.entries(root)) {
    if (name === '__metadata__') continue;
    if (!isJsonObject(info)) fail('bad-header', `tensor ${JSON.stringify(name)}: entry is not an object`);
    const o = info as Record<string, JsonValue>;
    if (!isSafetensorsDtype(o.dtype)) fail('bad-dtype', `tensor ${JSON.stringify(name)}: dtype ${JSON.stringify(o.dtype)} is not supported`);
    const dtype = o.dtype as SafetensorsDtype;
    const shape = parseShape(name, o.shape);
    const [begin, end] = parseOffsets(name, o.data_offsets);
    const need = byteLength(dtype, shape, end - begin);
    if (need !== end - begin) {
      fail('bad-shape', `tensor ${JSON.stringify(name)}: ${dtype} ${JSON.stringify(shape)} needs ${need < 0 ? 'more than ' + (end - begin) : need} bytes, data_offsets give ${end - begin}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // The byte buffer must be tiled exactly: sorted by offset, each tensor starts where the
  // previous one ended, and the last ends at the end of the file.
  const sorted = [...entries].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos) {
      fail('bad-offsets', e.begin < pos
        ? `tensor ${JSON.stringify(e.name)} at bytes [${e.begin}, ${e.end}) overlaps the previous tensor (ends at ${pos})`
        : `bytes [${pos}, ${e.begin}) before tensor ${JSON.stringify(e.name)} belong to no tensor`);
    }
    pos = e.end;
  }
  if (pos > dataLength) fail('truncated', `tensors need ${pos} data bytes, the file has ${dataLength}`);
  if (pos < dataLength) fail('bad-offsets', `the last ${dataLength - pos} bytes of the file belong to no tensor`);
  return { metadata, entries, dataStart: 8 + n };
}

export function readSafetensors(bytes: Uint8Array, limits: SafetensorsLimits = {}): SafetensorsFile {
  const n = readHeaderLength(bytes, limits);
  if (8 + n > bytes.byteLength) {
    fail('truncated', `header claims ${n} bytes but the file has only ${bytes.byteLength - 8} after the length`);
  }
  const { metadata, entries, dataStart } = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, limits);
  const tensors = new Map<string, RawTensor>();
  for (const e of entries) {
    tensors.set(e.name, {
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      bytes: bytes.subarray(dataStart + e.begin, dataStart + e.end),
    });
  }
  return { metadata, tensors };
}
