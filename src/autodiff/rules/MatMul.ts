import type { GradRule, ShapeFunc } from '../types';
import type { Dim } from '../dims';
import { broadcastShapes } from '../dims';

const inferShape: ShapeFunc = (ctx) => {
  const a = ctx.inputShape(0), b = ctx.inputShape(1);
  if (!a || !b) return ctx.oneOutput(ctx.inputDtype(0), null);
  if (a.length === 1 && b.length === 1) return ctx.oneOutput(ctx.inputDtype(0), []);
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  const out = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
  return ctx.oneOutput(ctx.inputDtype(0), out);
};

// y = a·b with numpy batching. 1-D operands are promoted ([K] → [1,K] for a, [K,1] for b) and
// the promoted axis removed again. A 2-D weight under a batched input gets its gradient from one
// Gemm over the flattened batch, instead of a batch of products summed afterwards.
export const MatMul: GradRule = {
  opType: 'MatMul',
  inferShape: inferShape,
  gradFunc: (ctx) => {
    const { e } = ctx;
    const [A, B] = ctx.in;
    const ra = ctx.rank(A), rb = ctx.rank(B);
    const dy = () => ctx.dy()!;
    if (ra === 1 && rb === 1) return [() => e.mul(dy(), ctx.x(1)), () => e.mul(dy(), ctx.x(0))];
    if (ra === 1) {
      // a [K] · b [..., K, N] = y [..., N]
      return [
        () => {
          const g = e.op1('MatMul', [e.unsqueeze(dy(), [-2]), e.transposeLast2(ctx.x(1), rb)]); // [..., 1, K]
          return e.reshape(e.reduceSum(g, rb > 2 ? Array.from({ length: rb - 2 }, (_, i) => i) : [], false), [-1]);
        },
        () => e.op1('MatMul', [e.unsqueeze(ctx.x(0), [1]), e.unsqueeze(dy(), [-2])]),
      ];
    }
    if (rb === 1) {
      // a [..., M, K] · b [K] = y [..., M]
      return [
        () => e.op1('MatMul', [e.unsqueeze(dy(), [-1]), e.unsqueeze(ctx.x(1), [0])]),
        () => {
          if (ra === 2) return e.op1('MatMul', [dy(), ctx.x(0)]);
          const k = e.dimOf(A, -1);
          const a2 = e.reshape(ctx.x(0), e.concat([e.ints([-1]), k], 0));
          return e.op1('MatMul', [e.reshape(dy(), [-1]), a2]);
        },
      ];
    }
    const da = ctx.dims(A), db = ctx.dims(B);
    const batch = broadcastShapes([da.slice(0, -2), db.slice(0, -2)]);
    const full = (d: Dim[]) => [...batch, ...d.slice(-2)];
    return [
      () => e.sumToShape(e.op1('MatMul', [dy(), e.transposeLast2(ctx.x(1), rb)]), full(da), A),
      () => {
        if (rb === 2 && ra > 2) {
          // Σ over the batch of aᵀ·dy = (a as [-1, K])ᵀ · (dy as [-1, N])
          const a2 = e.reshape(ctx.x(0), e.concat([e.ints([-1]), e.dimOf(A, -1)], 0));
          const g2 = e.reshape(dy(), e.concat([e.ints([-1]), e.dimOf(B, -1)], 0));
          return e.op1('Gemm', [a2, g2], { transA: 1 });
        }
        return e.sumToShape(e.op1('MatMul', [e.transposeLast2(ctx.x(0), ra), dy()]), full(db), B);
      },
    ];
  },
};
