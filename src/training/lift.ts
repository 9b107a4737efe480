// Trainable weights of a forward graph as graph inputs: the float initializers named after their
// module (`down_blocks.0.resnets.0.conv1.weight`, …; the builder's constants are `onnx::…` and
// stay put) move from the initializer list to the inputs, so every train step feeds the
// optimizer's current values and one session serves the whole run.
import { onnx, readTensorProto, makeValueInfo, type ModelProto, type ExternalDataReader } from '../onnx';

export interface LiftedModel {
  model: ModelProto;
  /** initial values (copies), by initializer name */
  params: Record<string, Float32Array>;
  dims: Record<string, number[]>;
}

export const isTrainableInitializer = (name: string, dataType: number | null | undefined): boolean =>
  dataType === onnx.TensorProto.DataType.FLOAT && !name.startsWith('onnx::');

export function liftInitializers(model: ModelProto, readExternal?: ExternalDataReader): LiftedModel {
  const graph = model.graph;
  if (!graph) throw new Error('the model has no graph');
  const params: Record<string, Float32Array> = {};
  const dims: Record<string, number[]> = {};
  const kept = [];
  const inputs = [...(graph.input ?? [])];
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    if (!isTrainableInitializer(name, t.dataType)) { kept.push(t); continue; }
    const host = readTensorProto(t, readExternal);
    params[name] = Float32Array.from(host.data as Float32Array);
    dims[name] = host.dims;
    inputs.push(makeValueInfo(name, 'float32', host.dims));
  }
  if (Object.keys(params).length === 0) throw new Error('the model has no trainable initializers');
  return {
    model: onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...graph, initializer: kept, input: inputs }) }),
    params,
    dims,
  };
}

/** Feeds for the lifted weights: host tensors over the live parameter arrays. */
export function paramFeeds(params: Record<string, Float32Array>, dims: Record<string, number[]>) {
  return Object.fromEntries(Object.entries(params).map(([name, data]) => [name, { type: 'float32' as const, dims: dims[name], data }]));
}

/** `${prefix}${name}` for every key: one optimizer over several graphs' weights. */
export function prefixed<T>(prefix: string, rec: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [prefix + k, v]));
}
