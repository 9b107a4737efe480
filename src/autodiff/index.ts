// Reverse-mode autodiff for ONNX graphs, emitting standard default-domain ops only, so the
// gradient graph runs wherever the forward runs (onnxruntime-web WebGPU/WASM, onnxruntime-node).
import { onnx, makeValueInfo, type ModelProto, type ExternalDataReader } from '../onnx';
import { opsetVersion } from '../onnx/graph';
import { differentiate, type GradientOptions } from './gradient';
import { inferShapes } from './shapes';

export type { GradientOptions } from './gradient';
export { NoShapeFunctionError, UnsupportedOpError, UnknownNameError } from './errors';
export { knownOps, supportedOps, EMITTED_OPS } from './registry';
export { withFixedDims } from './fixDims';

/** Forward plus backward in one graph; the original outputs are kept. */
export function buildGradientModel(model: ModelProto, opts: GradientOptions & { readExternal?: ExternalDataReader }): ModelProto {
  return differentiate(model, { ...opts, seeds: 'inputs' });
}

export interface TrainingGraphOptions {
  wrt: string[];
  prediction: string;
  loss?: 'mse';
  /** default 'target' */
  targetName?: string;
  /** default 'loss' */
  lossName?: string;
  recompute?: GradientOptions['recompute'];
  /** static loss scale of the backward pass (the outputs are unscaled): see CoreOptions.lossScale */
  lossScale?: number;
  convInputGradient?: GradientOptions['convInputGradient'];
  onWarning?: (msg: string) => void;
}

/**
 * A train-step graph: adds input `target` (the prediction's shape), output `loss` (the mean
 * squared error, a scalar, seeded internally with dloss = 1) and outputs `${w}_grad`.
 */
export function buildTrainingModel(model: ModelProto, opts: TrainingGraphOptions): ModelProto {
  const graph = model.graph;
  if (!graph) throw new Error('the model has no graph');
  if ((opts.loss ?? 'mse') !== 'mse') throw new Error(`unknown loss '${opts.loss}' (only 'mse')`);
  const target = opts.targetName ?? 'target';
  const loss = opts.lossName ?? 'loss';
  const t = inferShapes(graph, opsetVersion(model));
  const pred = t.get(opts.prediction);
  if (!pred) throw new Error(`unknown prediction '${opts.prediction}'`);
  const taken = new Set([...(graph.input ?? []), ...(graph.output ?? [])].map((v) => v.name));
  for (const n of graph.node ?? []) for (const o of n.output ?? []) taken.add(o);
  for (const name of [target, loss]) if (taken.has(name)) throw new Error(`the graph already has a value named '${name}'`);
  const declared = [...(graph.output ?? []), ...(graph.input ?? []), ...(graph.valueInfo ?? [])].find((v) => v.name === opts.prediction);
  const targetInfo = declared?.type
    ? onnx.ValueInfoProto.create({ name: target, type: declared.type })
    : makeValueInfo(target, pred.dtype ?? 'float32', (pred.shape ?? []).map((d, i) => d ?? `target_dim${i}`));
  const diff = `${loss}::diff`, sq = `${loss}::squared`;
  const lossNodes = [
    onnx.NodeProto.create({ name: `/${loss}/Sub`, opType: 'Sub', input: [opts.prediction, target], output: [diff] }),
    onnx.NodeProto.create({ name: `/${loss}/Mul`, opType: 'Mul', input: [diff, diff], output: [sq] }),
    onnx.NodeProto.create({ name: `/${loss}/ReduceMean`, opType: 'ReduceMean', input: [sq], output: [loss], attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] }),
  ];
  const withLoss = onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({
      ...graph,
      node: [...(graph.node ?? []), ...lossNodes],
      input: [...(graph.input ?? []), targetInfo],
      output: [...(graph.output ?? []), makeValueInfo(loss, pred.dtype ?? 'float32', [])],
    }),
  });
  return differentiate(withLoss, { of: [loss], wrt: opts.wrt, recompute: opts.recompute, onWarning: opts.onWarning, seeds: 'ones', ...(opts.lossScale ? { lossScale: opts.lossScale } : {}), ...(opts.convInputGradient ? { convInputGradient: opts.convInputGradient } : {}) });
}
