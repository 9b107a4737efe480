import type { GradRule } from '../types';

// Inference-mode Dropout is the identity; a training-mode one would need its mask, which a
// gradient graph must not re-draw.
export const Dropout: GradRule = {
  opType: 'Dropout',
  // the output and its mask
  inferShape: (ctx) => ({ outputs: [{ dtype: ctx.inputDtype(0), shape: ctx.inputShape(0) }, { dtype: 'bool', shape: ctx.inputShape(0) }] }),
  differentiable: [0],
  gradFunc: (ctx) => {
    const training = ctx.in[2] ? ctx.constant(2) : [0];
    if (!training || training[0] !== 0) ctx.fail('Dropout in training mode (or with a run-time training_mode) is not differentiable here');
    return [() => ctx.dy()!];
  },
};
