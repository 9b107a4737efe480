// The contract between the autodiff and the per-op rules. Each op has one rule: its shape
// function, and its gradient (tfjs-core's GradConfig, with a graph emitter in place of
// tensors) or the reason it has none. A gradient returns one thunk per input, and only the
// thunks of inputs whose gradient is needed are ever called.
import type { AttrJs } from '../onnx/graph';
import type { NodeProto, DTypeName, HostTensor } from '../onnx';
import type { Emitter } from './emitter';
import type { ShapeTable, TypeInfo } from './shapeTable';
import type { Dim } from './dims';

/** What a shape function reads: its node and what is known so far about the node's inputs. */
export interface ShapeContext {
  readonly node: NodeProto;
  readonly opset: number;
  /** input names as in the model ('' for an omitted optional input) */
  readonly in: readonly string[];
  attr<T extends AttrJs>(name: string, fallback: T): T;
  attr<T extends AttrJs>(name: string): T | undefined;
  /** null when input i is omitted or its shape is unknown */
  inputShape(i: number): Dim[] | null;
  inputDtype(i: number): DTypeName | null;
  /** the tracked contents of a small integer input (dims, possibly symbolic), or null */
  inputValues(i: number): Dim[] | null;
  /** the contents of a small integer input when every element is a known number, or null */
  inputInts(i: number): number[] | null;
  /** the value of a constant input (initializer or Constant output), or null */
  inputConstant(i: number): HostTensor | null;
  /** the usual answer: one output, with its tracked contents when it is a small integer tensor */
  oneOutput(dtype: DTypeName | null, shape: Dim[] | null, values?: Dim[] | null): InferredShapes;
}

/** One entry per node output (null: unknown), and the tracked contents of integer outputs. */
export interface InferredShapes { outputs: (TypeInfo | null)[]; values?: (Dim[] | null)[] }

export type ShapeFunc = (ctx: ShapeContext) => InferredShapes;

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
  /** GradientOptions.convInputGradient, resolved */
  readonly convInputGradient: 'flipped-conv' | 'conv-transpose';
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
  inferShape: ShapeFunc;
  /** input slots that can carry a gradient (default: all); shapes, indices, conditions cannot */
  differentiable?: number[];
  gradFunc(ctx: GradContext): (GradThunk | null | undefined)[];
}

/** Why an op has no gradient rule. */
export type NoGradientReason =
  /** nothing to carry a gradient: the outputs are indices, shapes or masks */
  | 'integer or boolean output'
  /** nothing to differentiate: the inputs are integers (shapes, bit patterns) */
  | 'integer inputs only'
  /** the derivative is zero wherever it exists */
  | 'piecewise constant'
  /**
   * differentiable, but no graph this project builds needs it: on an active path the gradient
   * build refuses it with UnsupportedOpError naming the op, as it always did
   */
  | 'differentiable, no rule';

/**
 * An op whose outputs the shape inference follows but whose gradient is not built. A path to
 * a differentiated output through it is refused with an UnsupportedOpError, as for an op the
 * registry does not know.
 */
export interface ShapeOnlyRule {
  opType: string;
  inferShape: ShapeFunc;
  noGradient: NoGradientReason;
  gradFunc?: undefined;
}

export type OpRule = GradRule | ShapeOnlyRule;

/** Memoizes a thunk, for pieces several input gradients share. */
export function lazy<T>(f: () => T): () => T {
  let done = false;
  let v: T;
  return () => {
    if (!done) { v = f(); done = true; }
    return v;
  };
}
