// ONNX TensorProto.DataType codes and the JS typed arrays that hold them.
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type DTypeName = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool' | 'float16' | 'float64';

const byCode: Record<number, DTypeName> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64',
};
const byName: Record<DTypeName, DataTypeCode> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11,
};
const bytesPer: Record<DTypeName, number> = {
  float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1, float16: 2, float64: 8,
};

export type TypedArray =
  | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

export function dtypeName(code: number): DTypeName {
  const n = byCode[code];
  if (!n) throw new Error(`unsupported ONNX data type ${code}`);
  return n;
}
export const dtypeCode = (name: DTypeName): DataTypeCode => byName[name];
export const bytesPerElement = (name: DTypeName): number => bytesPer[name];

/** A typed array of `dtype` viewing (a copy of) little-endian bytes. */
export function typedArrayFromBytes(dtype: DTypeName, bytes: Uint8Array): TypedArray {
  const n = bytes.byteLength / bytesPer[dtype];
  if (!Number.isInteger(n)) throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  // Copy so the result is aligned and owns its buffer (protobuf slices are often unaligned).
  const buf = Uint8Array.prototype.slice.call(bytes).buffer; // Buffer#slice would be a view
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'float16': return new Uint16Array(buf);
  }
}

export function dtypeOfArray(a: TypedArray): DTypeName {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint16Array) return 'float16';
  return 'uint8';
}

export const sizeOf = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
