// The one interface the pipeline sees. onnxruntime-web (browser worker) and onnxruntime-node
// (tests, CLI) both sit behind it, so personalize()/generate() run unchanged on either.
import type { TypedArray } from '../onnx/dtype';

export type TensorType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'bool';

/** A host tensor as the pipeline passes it around; runtimes convert to their own Tensor class. */
export interface Tensor {
  type: TensorType;
  dims: readonly number[];
  data: TypedArray;
}

export type Feeds = Record<string, Tensor>;

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** Bytes of a model and of the external data files it refers to (by their `location`). */
export interface ModelSource {
  name: string;
  model: Uint8Array;
  externalData?: { path: string; data: Uint8Array }[];
  /**
   * a train graph built to hold each weight once (src/packer/weightsOnce.ts): a CPU runtime may
   * then turn off the second layouts it keeps of every weight (src/runtime/sessionOptions.ts)
   */
  holdsWeightsOnce?: boolean;
}

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export interface Runtime {
  /** the execution provider actually in use */
  readonly backend: BackendName;
  createSession(source: ModelSource): Promise<Session>;
}

export const float32 = (data: Float32Array, dims: readonly number[]): Tensor => ({ type: 'float32', data, dims });
export const int64 = (data: BigInt64Array, dims: readonly number[]): Tensor => ({ type: 'int64', data, dims });
