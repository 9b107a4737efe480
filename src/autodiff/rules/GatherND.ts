import type { GradRule } from '../types';
import type { ShapeFunc } from '../types';
import { isKnown } from '../dims';

const inferShape: ShapeFunc = (ctx) => {
  const x = ctx.inputShape(0), idx = ctx.inputShape(1);
  const b = ctx.attr<number>('batch_dims', 0);
  if (!x || !idx || !isKnown(idx[idx.length - 1])) return ctx.oneOutput(ctx.inputDtype(0), null);
  const k = idx[idx.length - 1] as number;
  return ctx.oneOutput(ctx.inputDtype(0), [...idx.slice(0, -1), ...x.slice(b + k)]);
};

// ScatterND(add) of dy into zeros; batch_dims = 1 becomes explicit leading batch coordinates.
export const GatherND: GradRule = {
  opType: 'GatherND',
  inferShape: inferShape,
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    if (ctx.opset < 16) ctx.fail('needs opset 16 (ScatterND with reduction)');
    const b = ctx.attr<number>('batch_dims', 0);
    if (b > 1) ctx.fail('batch_dims > 1 is not supported');
    const x = ctx.in[0];
    let idx = ctx.x(1);
    if (ctx.dtype(ctx.in[1]) !== 'int64') idx = e.cast(idx, 'int64');
    if (b === 1) {
      const q = ctx.rank(ctx.in[1]);
      const batch = e.op1('Range', [e.int0(0), e.reshape(e.dimOf(x, 0), []), e.int0(1)]);
      const coords = e.reshape(batch, [-1, ...Array(q - 1).fill(1)]);
      const idxShape = e.shapeOf(ctx.in[1]);
      const target = e.concat([e.slice(idxShape, [0], [q - 1], [0]), e.ints([1])], 0);
      idx = e.concat([e.op1('Expand', [coords, target]), idx], q - 1);
    }
    return e.op1('ScatterND', [e.zerosLike(x), idx, ctx.dy()!], { reduction: 'add' });
  }],
};
