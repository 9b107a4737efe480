// The contract between the gradient builder and the per-op rules (tfjs-core's GradConfig, with
// a graph emitter in place of tensors): a rule returns one thunk per input, and only the
// thunks of inputs whose gradient is needed are ever called.
import type { AttrJs } from '../onnx/graph';
import type { NodeProto, DTypeName } from '../onnx';
import type { Emitter } from './emitter';
import type { ShapeTable } from './shapes';
import type { Dim } from './dims';

export type GradThunk = () => string;

export interface GradContext {
  readonly node: NodeProto;
  readonly opset: number;
  readonly e: Emitter;
  readonly shapes: ShapeTable;
  /** forward input names as in the model ('' for an omitted optional input); use for shape lookups */
  readonly in: readonly string[];
  /** forward output names as in the model */
  readonly out: readonly string[];
  attr<T extends AttrJs>(name: string, fallback: T): T;
  attr<T extends AttrJs>(name: string): T | undefined;
  /** forward input i as the backward pass must read it (a recomputed clone under checkpointing) */
  x(i: number): string;
  /** forward output j as the backward pass must read it */
  y(j: number): string;
  /** the upstream gradient of output j, or null when nothing downstream needs it */
  dy(j?: number): string | null;
  /** the upstream gradient of output j, zeros when there is none */
  dyOrZeros(j: number): string;
  /** whether the gradient of input i is wanted */
  needs(i: number): boolean;
  rank(name: string): number;
  dims(name: string): Dim[];
  dtype(name: string): DTypeName;
  /** the value of a constant input (initializer or Constant), or null */
  constant(i: number): number[] | null;
  /** reject this node: throws an UnsupportedOpError naming it */
  fail(reason: string): never;
}

export interface GradRule {
  opType: string;
  /** input slots that can carry a gradient (default: all); shapes, indices, conditions cannot */
  differentiable?: number[];
  gradFunc(ctx: GradContext): (GradThunk | null | undefined)[];
}

/** Memoizes a thunk, for pieces several input gradients share. */
export function lazy<T>(f: () => T): () => T {
  let done = false;
  let v: T;
  return () => {
    if (!done) { v = f(); done = true; }
    return v;
  };
}
