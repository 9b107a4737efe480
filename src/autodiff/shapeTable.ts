// The dtypes and shapes inferred so far for a graph's values, with symbolic dims, plus the
// contents of small integer tensors (shape arithmetic) where they can be derived. Filled by
// inferShapes (shapes.ts) from each op's shape function; read by the gradient rules.
import { attr, readTensorProto, externalLocation, type NodeProto, type TensorProto, type DTypeName, type HostTensor, type ExternalDataReader } from '../onnx';
import { type Dim, isKnown } from './dims';
import { NoShapeFunctionError } from './errors';

export interface TypeInfo { dtype: DTypeName | null; shape: Dim[] | null }

const FLOAT_TYPES = new Set<DTypeName>(['float32', 'float64', 'float16']);
export const isFloat = (d: DTypeName | null | undefined): boolean => !!d && FLOAT_TYPES.has(d);

/** Values of small integer tensors are tracked up to this many elements. */
export const MAX_TRACKED = 64;

export class ShapeTable {
  private readonly info = new Map<string, TypeInfo>();
  /** flat contents of small integer tensors (shapes, axes, indices) */
  readonly values = new Map<string, Dim[]>();
  private readonly constTensors = new Map<string, TensorProto>();
  private readonly constCache = new Map<string, HostTensor | null>();
  private readonly constNames = new Set<string>();
  private readonly withoutShapeFunction = new Map<string, NoShapeFunctionError>();

  constructor(readonly opset: number, private readonly readExternal?: ExternalDataReader) {}

  get(name: string): TypeInfo | undefined { return this.info.get(name); }
  set(name: string, t: TypeInfo): void { this.info.set(name, t); }
  has(name: string): boolean { return this.info.has(name); }
  /** `name` has the same dtype and shape as `like` (gradients, recomputed clones). */
  alias(name: string, like: string): void {
    const t = this.info.get(like);
    if (t) this.info.set(name, t);
    const v = this.values.get(like);
    if (v) this.values.set(name, v);
  }

  dtype(name: string): DTypeName | null { return this.info.get(name)?.dtype ?? null; }
  shape(name: string): Dim[] | null { return this.info.get(name)?.shape ?? null; }

  rank(name: string): number { return this.dims(name).length; }

  dims(name: string): Dim[] {
    const s = this.shape(name);
    if (s) return s;
    const cause = this.withoutShapeFunction.get(name);
    if (cause) throw new NoShapeFunctionError(cause.opType, cause.nodeName, name);
    throw new Error(`cannot infer the rank of '${name}' (give the model value_info for it)`);
  }

  /** `name` is an output of a node whose op has no shape function, so its rank errors name the op. */
  markWithoutShapeFunction(name: string, cause: NoShapeFunctionError): void { this.withoutShapeFunction.set(name, cause); }

  staticShape(name: string): number[] | null {
    const s = this.shape(name);
    return s && s.every(isKnown) ? (s as number[]) : null;
  }

  registerConstant(name: string, t: TensorProto): void { this.constTensors.set(name, t); }
  registerConstantValue(name: string, h: HostTensor): void { this.constCache.set(name, h); this.constNames.add(name); }

  /** The value of an initializer or Constant output, or null if it is computed at run time. */
  constant(name: string): HostTensor | null {
    if (this.constCache.has(name)) return this.constCache.get(name)!;
    const t = this.constTensors.get(name);
    let v: HostTensor | null = null;
    if (t) {
      try {
        v = externalLocation(t) && !this.readExternal ? null : readTensorProto(t, this.readExternal);
      } catch {
        v = null;
      }
    }
    this.constCache.set(name, v);
    return v;
  }

  isConstant(name: string): boolean { return this.constTensors.has(name) || this.constNames.has(name); }

  /** Integer contents as plain numbers, when all are known. */
  intValues(name: string): number[] | null {
    const v = this.values.get(name);
    return v && v.every(isKnown) ? (v as number[]) : null;
  }
}

/** The tensor a Constant node holds, whichever attribute carries it. */
export function constantNodeValue(node: NodeProto): HostTensor | null {
  const a = (node.attribute ?? [])[0];
  if (!a) return null;
  if (a.name === 'value' && a.t) return readTensorProto(a.t);
  if (a.name === 'value_float') return { dtype: 'float32', dims: [], data: new Float32Array([a.f ?? 0]) };
  if (a.name === 'value_floats') return { dtype: 'float32', dims: [a.floats?.length ?? 0], data: Float32Array.from(a.floats ?? []) };
  if (a.name === 'value_int') return { dtype: 'int64', dims: [], data: BigInt64Array.from([BigInt(attr<number>(node, 'value_int', 0))]) };
  if (a.name === 'value_ints') { const v = attr<number[]>(node, 'value_ints', []); return { dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) }; }
  return null;
}

/** The contents of a small integer tensor as dims, or null when it is large or not integer. */
export function trackedInts(h: HostTensor): Dim[] | null {
  if (h.data.length > MAX_TRACKED) return null;
  if (h.dtype === 'int64') return Array.from(h.data as BigInt64Array, (x) => Number(x));
  if (h.dtype === 'int32' || h.dtype === 'int8' || h.dtype === 'uint8' || h.dtype === 'bool') return Array.from(h.data as Int32Array);
  return null;
}
