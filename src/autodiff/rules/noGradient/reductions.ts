// The reductions without a gradient rule (ReduceSum and ReduceMean have theirs in rules/).
import type { ShapeOnlyRule } from '../../types';
import { reducedShape } from '../reduce';

const notImplemented = (opType: string, inferShape = reducedShape()): ShapeOnlyRule => ({ opType, inferShape, noGradient: 'not implemented' });

export const REDUCTIONS_WITHOUT_GRADIENT: ShapeOnlyRule[] = [
  notImplemented('ReduceMax'), notImplemented('ReduceMin'), notImplemented('ReduceProd', reducedShape({ product: true })),
  notImplemented('ReduceL1'), notImplemented('ReduceL2'), notImplemented('ReduceSumSquare'),
  notImplemented('ReduceLogSum'), notImplemented('ReduceLogSumExp'),
  { opType: 'ArgMax', inferShape: reducedShape({ argIndices: true }), noGradient: 'integer or boolean output' },
  { opType: 'ArgMin', inferShape: reducedShape({ argIndices: true }), noGradient: 'integer or boolean output' },
];
