import type { GradRule } from '../types';
import { constantNodeValue, trackedInts } from '../shapeTable';

// A constant has no inputs, so nothing flows through it; listed so the registry covers it.
export const Constant: GradRule = {
  opType: 'Constant',
  inferShape: (ctx) => {
    const h = constantNodeValue(ctx.node);
    return h ? ctx.oneOutput(h.dtype, h.dims, trackedInts(h)) : ctx.oneOutput(null, null);
  },
  differentiable: [],
  gradFunc: () => [],
};
