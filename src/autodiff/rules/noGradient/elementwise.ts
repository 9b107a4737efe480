// Elementwise ops the shape inference follows but no gradient rule covers: x's shape, or the
// inputs' numpy broadcast.
import type { NoGradientReason, ShapeFunc, ShapeOnlyRule } from '../../types';
import { isKnown } from '../../dims';
import { broadcastShape, sameShape, sameShapeBool } from '../shapeCommon';

const family = (inferShape: ShapeFunc, noGradient: NoGradientReason, ops: string[]): ShapeOnlyRule[] =>
  ops.map((opType) => ({ opType, inferShape, noGradient }));

export const ELEMENTWISE_WITHOUT_GRADIENT: ShapeOnlyRule[] = [
  ...family(sameShape, 'differentiable, no rule', [
    'Softplus', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Mish', 'Softsign', 'Tan',
    'CumSum', 'Trilu', 'ScatterND', 'ScatterElements', 'BatchNormalization',
  ]),
  ...family(sameShape, 'piecewise constant', ['Floor', 'Ceil', 'Round', 'Sign', 'Hardmax']),
  ...family(sameShapeBool, 'integer or boolean output', ['Not', 'IsNaN', 'IsInf']),
  ...family(broadcastShape(), 'differentiable, no rule', ['Mod', 'PRelu']),
  ...family(broadcastShape(), 'integer inputs only', ['BitShift']),
  // Equal of tracked shapes is tracked: shape arithmetic compares dims before a Where
  ...family(broadcastShape({ bool: true, combine: (x, y) => (isKnown(x) && isKnown(y) ? Number(x === y) : null) }), 'integer or boolean output', ['Equal']),
  ...family(broadcastShape({ bool: true }), 'integer or boolean output', ['Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor']),
  // CastLike: x's shape and contents in the dtype of the second input
  { opType: 'CastLike', inferShape: (ctx) => ctx.oneOutput(ctx.inputDtype(1), ctx.inputShape(0), ctx.inputValues(0)), noGradient: 'differentiable, no rule' },
];
