// Reading and writing .onnx files, with large initializers optionally kept in one external
// data file (what browsers need: a protobuf over 2 GB cannot be parsed, and ORT loads the
// external file separately).
import { onnx, type ModelProto, type TensorProto } from './proto';
import { externalLocation, type ExternalDataReader } from './tensor';

export function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`not a valid ONNX model (${(e as Error).message})`);
  }
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Every initializer, including those in subgraphs is out of scope: our graphs have none. */
export function initializers(model: ModelProto): TensorProto[] {
  return model.graph?.initializer ?? [];
}

/** Replace every external reference with inline bytes (small models, tests, round trips). */
export function inlineExternalData(model: ModelProto, read: ExternalDataReader): ModelProto {
  for (const t of initializers(model)) {
    const ext = externalLocation(t);
    if (!ext) continue;
    t.rawData = Uint8Array.prototype.slice.call(read(ext.location, ext.offset, ext.length));
    // proto2 writes fields that are set, even to their default: unset them to match an inline model
    delete (t as { dataLocation?: unknown }).dataLocation;
    t.externalData = [];
  }
  return model;
}

export interface ExternalSplit {
  /** file name written into the model, relative to it */
  location: string;
  /** initializers with at least this many bytes go to the external file */
  thresholdBytes?: number;
  /** offsets are aligned so a reader can map tensors without copying */
  alignment?: number;
}

/**
 * Serialize with big initializers moved to one external file. The model object is not changed.
 */
export function encodeModelWithExternalData(model: ModelProto, split: ExternalSplit): { model: Uint8Array; data: Uint8Array } {
  const threshold = split.thresholdBytes ?? 1024;
  const align = split.alignment ?? 64;
  const copy = onnx.ModelProto.decode(encodeModel(model));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of copy.graph?.initializer ?? []) {
    const raw = t.rawData;
    if (!raw || raw.length < threshold) continue;
    const pad = (align - (offset % align)) % align;
    if (pad) { chunks.push(new Uint8Array(pad)); offset += pad; }
    chunks.push(raw);
    t.externalData = [
      onnx.StringStringEntryProto.create({ key: 'location', value: split.location }),
      onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
      onnx.StringStringEntryProto.create({ key: 'length', value: String(raw.length) }),
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) { data.set(c, o); o += c.length; }
  return { model: encodeModel(copy), data };
}

/** An ExternalDataReader over files already in memory, keyed by location. */
export function memoryExternalReader(files: Record<string, Uint8Array>): ExternalDataReader {
  return (location, offset, length) => {
    const file = files[location];
    if (!file) throw new Error(`external data file ${location} is missing`);
    const end = length === undefined ? file.length : offset + length;
    if (offset < 0 || end > file.length) {
      throw new Error(`external data ${location}: range ${offset}..${end} is outside the file (${file.length} bytes)`);
    }
    return file.subarray(offset, end);
  };
}
