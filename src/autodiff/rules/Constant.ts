import type { GradRule } from '../types';

// A constant has no inputs, so nothing flows through it; listed so the registry covers it.
export const Constant: GradRule = { opType: 'Constant', differentiable: [], gradFunc: () => [] };
