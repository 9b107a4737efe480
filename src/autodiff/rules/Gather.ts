import type { GradContext, GradRule } from '../types';
import { isKnown } from '../dims';
import type { ShapeFunc } from '../types';
import type { Dim } from '../dims';
import { normalizeAxis } from './shapeCommon';

// Index contents are tracked through a 1-D Gather (picking dims out of a Shape).
const inferShape: ShapeFunc = (ctx) => {
  const x = ctx.inputShape(0), idx = ctx.inputShape(1);
  if (!x || !idx) return ctx.oneOutput(ctx.inputDtype(0), null);
  const a = normalizeAxis(ctx.attr<number>('axis', 0), x.length);
  const shape = [...x.slice(0, a), ...idx, ...x.slice(a + 1)];
  const v = ctx.inputValues(0), iv = ctx.inputInts(1);
  let values: Dim[] | null = null;
  if (v && iv && x.length === 1) values = iv.map((i) => v[i < 0 ? i + v.length : i]);
  return ctx.oneOutput(ctx.inputDtype(0), shape, values);
};

/** Indices as int64 with negative ones wrapped, as ScatterND and Equal need them. */
export function normalizedIndices(ctx: GradContext, indexInput: number, dim: string): string {
  const { e } = ctx;
  let idx = ctx.x(indexInput);
  if (ctx.dtype(ctx.in[indexInput]) !== 'int64') idx = e.cast(idx, 'int64');
  const zero = e.int0(0);
  return e.op1('Where', [e.op1('Less', [idx, zero]), e.add(idx, dim), idx]);
}

// dx: zeros of x's shape with dy added at the gathered positions. Axis `a` is moved to the
// front so the positions are leading indices: ScatterND with reduction='add' (opset 16+,
// duplicates accumulate), or before opset 16 a one-hot matrix product.
export const Gather: GradRule = {
  opType: 'Gather',
  inferShape: inferShape,
  differentiable: [0],
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const x = ctx.in[0];
    const r = ctx.rank(x), q = ctx.rank(ctx.in[1]);
    const axis = ctx.attr<number>('axis', 0);
    const a = axis < 0 ? axis + r : axis;
    const rest = [...Array(a).keys(), ...Array.from({ length: r - a - 1 }, (_, i) => a + 1 + i)];
    // dy [x[:a], idx..., x[a+1:]] → [idx..., x[:a], x[a+1:]]
    const toFront = [...Array.from({ length: q }, (_, i) => a + i), ...Array.from({ length: a }, (_, i) => i),
      ...Array.from({ length: r - a - 1 }, (_, i) => a + q + i)];
    const upd = e.transpose(ctx.dy()!, toFront);
    const xd = ctx.dims(x);
    const order = [a, ...rest];
    const frontShape = xd.every(isKnown) ? e.ints(order.map((i) => xd[i] as number)) : e.op1('Gather', [e.shapeOf(x), e.ints(order)]);
    const dimA = e.dimOf(x, a);
    const idx = normalizedIndices(ctx, 1, e.reshape(dimA, []));
    const dt = e.dtypeOf(x);
    let front: string;
    if (ctx.opset >= 16) {
      const zeros = e.op1('Expand', [e.scalar(0, dt), frontShape]);
      front = e.op1('ScatterND', [zeros, e.unsqueeze(idx, [-1]), upd], { reduction: 'add' });
    } else {
      const restSize = rest.every((i) => isKnown(xd[i])) ? e.ints([rest.reduce((p, i) => p * (xd[i] as number), 1)])
        : e.reduceProd(e.op1('Gather', [e.shapeOf(x), e.ints(rest)]), null, true);
      const upd2 = e.reshape(upd, e.concat([e.ints([-1]), restSize], 0)); // [n, R]
      const positions = e.op1('Range', [e.int0(0), e.reshape(dimA, []), e.int0(1)]);
      const onehot = e.cast(e.op1('Equal', [e.unsqueeze(e.reshape(idx, [-1]), [1]), positions]), dt); // [n, d_a]
      front = e.reshape(e.op1('Gemm', [onehot, upd2], { transA: 1 }), frontShape);
    }
    const back = Array<number>(r);
    order.forEach((src, i) => { back[src] = i; });
    return e.transpose(front, back);
  }],
};
