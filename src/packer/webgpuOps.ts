// The default-domain ops onnxruntime-web's WebGPU EP runs, in one place. Two sources, merged
// rather than copied: the operator table onnxruntime-web 1.30 ships
// (node_modules/onnxruntime-web/docs/webgpu-operators.md, ai.onnx rows; a unit test re-reads it
// so an upgrade that changes it is noticed) and the autodiff's EMITTED_OPS, which lists what
// the backward graphs use (it was checked against the EP's kernel registry; two of its ops,
// Identity and ScatterElements, are missing from the table only). An op outside this set still
// runs — ORT places that node on the CPU EP — but each crossing copies tensors between GPU and
// CPU, so the packer warns about it.
import { EMITTED_OPS } from '../autodiff/registry';
import type { ModelProto } from '../onnx';

/** ai.onnx rows of onnxruntime-web 1.30's docs/webgpu-operators.md (Memcpy* are ORT-internal). */
export const WEBGPU_TABLE_OPS: readonly string[] = [
  'Abs', 'Acos', 'Acosh', 'Add', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool',
  'BatchNormalization', 'Cast', 'Ceil', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'Cos', 'Cosh', 'CumSum', 'DFT',
  'DepthToSpace', 'DequantizeLinear', 'Div', 'Einsum', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'Flatten', 'Floor',
  'Gather', 'GatherElements', 'GatherND', 'Gelu', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'Greater',
  'GreaterOrEqual', 'GridSample', 'HardSigmoid', 'HardSwish', 'If', 'InstanceNormalization', 'LayerNormalization',
  'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'MatMul', 'MaxPool', 'MemcpyFromHost', 'MemcpyToHost', 'Mul', 'Neg',
  'Not', 'Pad', 'Pow', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax',
  'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare', 'Relu', 'Reshape', 'Resize', 'ScatterND',
  'Shape', 'Sigmoid', 'SimplifiedLayerNormalization', 'Sin', 'Sinh', 'Slice', 'Softmax', 'Split', 'Sqrt', 'Squeeze',
  'Sub', 'Tan', 'Tanh', 'ThresholdedRelu', 'Tile', 'Transpose', 'Unsqueeze', 'Where',
];

export const WEBGPU_OPS: ReadonlySet<string> = new Set([...WEBGPU_TABLE_OPS, ...EMITTED_OPS]);

/** Not kernels: ORT turns Constant nodes into initializers when it loads the graph. */
const NOT_KERNELS = new Set(['Constant']);

const isDefaultDomain = (domain: string | null | undefined) => !domain || domain === 'ai.onnx';

/** Ops of `model` the WebGPU EP has no kernel for, with how many nodes use each (sorted by name). */
export function opsLackingOnWebgpu(model: ModelProto): Map<string, number> {
  const lacking = new Map<string, number>();
  for (const n of model.graph?.node ?? []) {
    const op = n.opType ?? '';
    const key = isDefaultDomain(n.domain) ? op : `${n.domain}.${op}`;
    if (isDefaultDomain(n.domain) && (WEBGPU_OPS.has(op) || NOT_KERNELS.has(op))) continue;
    lacking.set(key, (lacking.get(key) ?? 0) + 1);
  }
  return new Map([...lacking].sort(([a], [b]) => a.localeCompare(b)));
}
