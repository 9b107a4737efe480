import type { ShapeOnlyRule } from '../../types';
import { prodDims } from '../../dims';

export const Size: ShapeOnlyRule = {
  opType: 'Size',
  noGradient: 'integer or boolean output',
  inferShape: (ctx) => {
    const s = ctx.inputShape(0);
    return ctx.oneOutput('int64', [], s ? [prodDims(s)] : null);
  },
};
