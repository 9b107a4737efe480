// The reductions without a gradient rule (ReduceSum and ReduceMean have theirs in rules/).
import type { ShapeOnlyRule } from '../../types';
import { reducedShape } from '../reduce';

const differentiableNoRule = (opType: string, inferShape = reducedShape()): ShapeOnlyRule => ({ opType, inferShape, noGradient: 'differentiable, no rule' });

export const REDUCTIONS_WITHOUT_GRADIENT: ShapeOnlyRule[] = [
  differentiableNoRule('ReduceMax'), differentiableNoRule('ReduceMin'), differentiableNoRule('ReduceProd', reducedShape({ product: true })),
  differentiableNoRule('ReduceL1'), differentiableNoRule('ReduceL2'), differentiableNoRule('ReduceSumSquare'),
  differentiableNoRule('ReduceLogSum'), differentiableNoRule('ReduceLogSumExp'),
  { opType: 'ArgMax', inferShape: reducedShape({ argIndices: true }), noGradient: 'integer or boolean output' },
  { opType: 'ArgMin', inferShape: reducedShape({ argIndices: true }), noGradient: 'integer or boolean output' },
];
