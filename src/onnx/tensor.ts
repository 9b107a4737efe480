// Initializers as plain {dtype, dims, data}: conversion to and from TensorProto, including
// tensors whose bytes live in an external data file.
import { onnx, toNumber, type TensorProto } from './proto';
import {
  dtypeCode, dtypeName, dtypeOfArray, typedArrayFromBytes, sizeOf, type DTypeName, type TypedArray,
} from './dtype';

export interface HostTensor {
  dtype: DTypeName;
  dims: number[];
  data: TypedArray;
}

/** Resolves an external data `location` (relative to the model file) to its bytes. */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

export function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function makeTensorProto(name: string, t: HostTensor): TensorProto {
  if (sizeOf(t.dims) !== t.data.length) {
    throw new Error(`tensor ${name}: dims [${t.dims}] hold ${sizeOf(t.dims)} values, data has ${t.data.length}`);
  }
  return onnx.TensorProto.create({
    name,
    dataType: dtypeCode(t.dtype),
    dims: t.dims,
    rawData: bytesOf(t.data).slice(),
  });
}

export function externalLocation(t: TensorProto): { location: string; offset: number; length?: number } | null {
  if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return null;
  const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
  if (!kv.location) throw new Error(`tensor ${t.name}: external data without a location`);
  return {
    location: kv.location as string,
    offset: kv.offset ? Number(kv.offset) : 0,
    length: kv.length ? Number(kv.length) : undefined,
  };
}

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number));
}

export function readTensorProto(t: TensorProto, readExternal?: ExternalDataReader): HostTensor {
  const dtype = dtypeName(t.dataType ?? 0);
  const dims = tensorDims(t);
  const n = sizeOf(dims);
  const ext = externalLocation(t);
  let data: TypedArray;
  if (ext) {
    if (!readExternal) throw new Error(`tensor ${t.name} is stored in external file ${ext.location}, which was not given`);
    data = typedArrayFromBytes(dtype, readExternal(ext.location, ext.offset, ext.length));
  } else if (t.rawData && t.rawData.length > 0) {
    data = typedArrayFromBytes(dtype, t.rawData);
  } else {
    data = fromTypedFields(t, dtype);
  }
  if (data.length !== n) throw new Error(`tensor ${t.name}: dims [${dims}] need ${n} values, found ${data.length}`);
  return { dtype, dims, data };
}

function fromTypedFields(t: TensorProto, dtype: DTypeName): TypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(t.floatData ?? []);
    case 'float64': return Float64Array.from(t.doubleData ?? []);
    case 'int64': return BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNumber(v as number))));
    case 'int32': return Int32Array.from(t.int32Data ?? []);
    case 'int8': return Int8Array.from(t.int32Data ?? []);
    case 'uint8': case 'bool': return Uint8Array.from(t.int32Data ?? []);
    case 'float16': return Uint16Array.from(t.int32Data ?? []);
  }
}

export function hostTensor(data: TypedArray, dims: number[]): HostTensor {
  return { dtype: dtypeOfArray(data), dims, data };
}
