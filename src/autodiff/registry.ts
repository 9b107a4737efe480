// Every op the autodiff knows, by op type: its shape function, and its gradient rule or the
// reason it has none (tfjs-core's one registry of per-op configs). The backward graphs use only standard ONNX ops of the
// default domain, and only ops that onnxruntime's WebGPU execution provider implements
// (onnxruntime/core/providers/webgpu/webgpu_execution_provider.cc as of ORT 1.2x; the
// js/web/docs/webgpu-operators.md table is the older JSEP list). The ops the rules emit:
//
//   Add Sub Mul Div Neg Pow Sqrt Reciprocal Exp Log Erf Tanh Sin Cos  elementwise float math
//   Greater Less GreaterOrEqual LessOrEqual Equal Where Cast       masks (And/Sign/Sum are not on the list)
//   MatMul Gemm Einsum Conv ConvTranspose                          products
//   ReduceSum ReduceMean ReduceProd                                reductions (not ReduceSumSquare)
//   Reshape Transpose Unsqueeze Squeeze Expand Concat Split Slice Pad Shape Gather Range
//   ScatterND ScatterElements (opset 16+, reduction='add')         gathers' gradients
//
// Integer shape arithmetic (Shape, Gather/Slice/Concat of shapes, ReduceProd of a shape,
// Range over int64) runs on the CPU in ORT whatever the EP, as it does in every exported model.
// Identity appears only where a gradient is a graph input itself (the seed passed through) and
// must be copied to its output name; every other gradient's producer is renamed instead.
// Deliberately avoided: Sum (an Add chain accumulates), ConstantOfShape (Expand of a scalar),
// OneHot, Sign and And.
import type { GradRule, OpRule, ShapeFunc } from './types';
import { NoShapeFunctionError } from './errors';
import { Abs } from './rules/Abs';
import { Add } from './rules/Add';
import { Cast } from './rules/Cast';
import { Clip } from './rules/Clip';
import { Concat } from './rules/Concat';
import { Cos } from './rules/Cos';
import { Constant } from './rules/Constant';
import { Conv } from './rules/Conv';
import { ConvTranspose } from './rules/ConvTranspose';
import { Div } from './rules/Div';
import { Dropout } from './rules/Dropout';
import { Einsum } from './rules/Einsum';
import { Erf } from './rules/Erf';
import { Exp } from './rules/Exp';
import { Expand } from './rules/Expand';
import { Flatten } from './rules/Flatten';
import { Gather } from './rules/Gather';
import { GatherElements } from './rules/GatherElements';
import { GatherND } from './rules/GatherND';
import { Gelu } from './rules/Gelu';
import { Gemm } from './rules/Gemm';
import { Identity } from './rules/Identity';
import { InstanceNormalization } from './rules/InstanceNormalization';
import { LayerNormalization } from './rules/LayerNormalization';
import { LeakyRelu } from './rules/LeakyRelu';
import { Log } from './rules/Log';
import { LogSoftmax } from './rules/LogSoftmax';
import { MatMul } from './rules/MatMul';
import { Max } from './rules/Max';
import { Mean } from './rules/Mean';
import { Min } from './rules/Min';
import { Mul } from './rules/Mul';
import { Neg } from './rules/Neg';
import { Pad } from './rules/Pad';
import { Pow } from './rules/Pow';
import { Reciprocal } from './rules/Reciprocal';
import { ReduceMean } from './rules/ReduceMean';
import { ReduceSum } from './rules/ReduceSum';
import { Relu } from './rules/Relu';
import { Reshape } from './rules/Reshape';
import { Resize } from './rules/Resize';
import { Sigmoid } from './rules/Sigmoid';
import { Sin } from './rules/Sin';
import { Slice } from './rules/Slice';
import { Softmax } from './rules/Softmax';
import { Split } from './rules/Split';
import { Sqrt } from './rules/Sqrt';
import { Squeeze } from './rules/Squeeze';
import { Sub } from './rules/Sub';
import { Sum } from './rules/Sum';
import { Tanh } from './rules/Tanh';
import { Tile } from './rules/Tile';
import { Transpose } from './rules/Transpose';
import { Unsqueeze } from './rules/Unsqueeze';
import { Where } from './rules/Where';
import { ConstantOfShape } from './rules/noGradient/ConstantOfShape';
import { ELEMENTWISE_WITHOUT_GRADIENT } from './rules/noGradient/elementwise';
import { NonZero } from './rules/noGradient/NonZero';
import { OneHot } from './rules/noGradient/OneHot';
import { POOLING } from './rules/noGradient/pooling';
import { Range } from './rules/noGradient/Range';
import { REDUCTIONS_WITHOUT_GRADIENT } from './rules/noGradient/reductions';
import { Shape } from './rules/noGradient/Shape';
import { Size } from './rules/noGradient/Size';
import { TopK } from './rules/noGradient/TopK';
import { Upsample } from './rules/noGradient/Upsample';

const RULES: GradRule[] = [
  Abs, Add, Sin, Cos, Cast, Clip, Concat, Constant, Conv, ConvTranspose, Div, Dropout, Einsum, Erf, Exp, Expand, Flatten,
  Gather, GatherElements, GatherND, Gelu, Gemm, Identity, InstanceNormalization, LayerNormalization,
  LeakyRelu, Log, LogSoftmax, MatMul, Max, Mean, Min, Mul, Neg, Pad, Pow, Reciprocal, ReduceMean, ReduceSum, Relu,
  Reshape, Resize, Sigmoid, Slice, Softmax, Split, Sqrt, Squeeze, Sub, Sum, Tanh, Tile, Transpose, Unsqueeze, Where,
];

/** Ops whose shapes are inferred but whose gradients are not built (each says why). */
const SHAPE_ONLY: OpRule[] = [
  ConstantOfShape, NonZero, OneHot, Range, Shape, Size, TopK, Upsample,
  ...ELEMENTWISE_WITHOUT_GRADIENT, ...POOLING, ...REDUCTIONS_WITHOUT_GRADIENT,
];

const registry = new Map<string, OpRule>();
for (const r of [...RULES, ...SHAPE_ONLY]) {
  if (registry.has(r.opType)) throw new Error(`op ${r.opType} is registered twice`);
  registry.set(r.opType, r);
}

const hasGradient = (r: OpRule | undefined): r is GradRule => r?.gradFunc !== undefined;

/** Every op the registry knows: its shape function, and its gradient rule or why it has none. */
export function opRule(opType: string): OpRule | undefined { return registry.get(opType); }
export function gradRule(opType: string): GradRule | undefined {
  const r = registry.get(opType);
  return hasGradient(r) ? r : undefined;
}
/** The shape function of `opType`; an op without one is a NoShapeFunctionError naming it. */
export function shapeFunction(opType: string, nodeName: string): ShapeFunc {
  const r = registry.get(opType);
  if (!r) throw new NoShapeFunctionError(opType, nodeName);
  return r.inferShape;
}
/** The ops with a gradient rule. */
export function supportedOps(): string[] { return [...registry.values()].filter(hasGradient).map((r) => r.opType).sort(); }
/** Every op the registry knows, with or without a gradient rule. */
export function knownOps(): string[] { return [...registry.keys()].sort(); }

/** The ops backward graphs may contain; tests check every emitted node against it. */
export const EMITTED_OPS = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Pow', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Erf', 'Tanh', 'Sin', 'Cos',
  'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Equal', 'Where', 'Cast',
  'MatMul', 'Gemm', 'Einsum', 'Conv', 'ConvTranspose',
  'ReduceSum', 'ReduceMean', 'ReduceProd',
  'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Expand', 'Concat', 'Split', 'Slice', 'Pad', 'Shape', 'Gather', 'Range',
  'ScatterND', 'ScatterElements', 'Identity',
]);
