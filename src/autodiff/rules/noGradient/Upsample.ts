import type { ShapeOnlyRule } from '../../types';
import { resizedShape } from '../Resize';

// Deprecated since opset 10 in favour of Resize, which has a gradient rule.
export const Upsample: ShapeOnlyRule = { opType: 'Upsample', inferShape: resizedShape(1), noGradient: 'differentiable, no rule' };
