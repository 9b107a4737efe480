// Every op the tiny pack's graphs may use: all in the default ONNX domain, all on the WebGPU EP's
// list. graphs.test.ts checks the pack uses exactly these; hypernet.test.ts keeps to them.
export const PACK_OPS: readonly string[] = [
  'Add', 'ArgMax', 'Cast', 'Concat', 'Conv', 'Cos', 'Div', 'Equal', 'Erf', 'Gather', 'GatherND', 'Gemm', 'Identity',
  'InstanceNormalization', 'MatMul', 'Mul', 'Pow', 'ReduceMean', 'Reshape', 'Resize', 'Shape', 'Sigmoid', 'Sin',
  'Softmax', 'Split', 'Sqrt', 'Sub', 'Transpose', 'Unsqueeze',
];
