import type { GradRule } from '../types';
import { float } from '../../onnx';
import type { ShapeFunc } from '../types';

const inferShape: ShapeFunc = (ctx) => {
  const a = ctx.inputShape(0), b = ctx.inputShape(1);
  if (!a || !b) return ctx.oneOutput(ctx.inputDtype(0), [null, null]);
  const m = ctx.attr<number>('transA', 0) ? a[1] : a[0];
  const n = ctx.attr<number>('transB', 0) ? b[0] : b[1];
  return ctx.oneOutput(ctx.inputDtype(0), [m, n]);
};

// Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A, B' likewise; each gradient is one Gemm.
export const Gemm: GradRule = {
  opType: 'Gemm',
  inferShape: inferShape,
  gradFunc: (ctx) => {
    const { e } = ctx;
    const alpha = ctx.attr<number>('alpha', 1), beta = ctx.attr<number>('beta', 1);
    const tA = ctx.attr<number>('transA', 0), tB = ctx.attr<number>('transB', 0);
    const dy = () => ctx.dy()!;
    const gemm = (a: string, b: string, ta: number, tb: number) =>
      e.op1('Gemm', [a, b], { alpha: float(alpha), transA: ta, transB: tb });
    return [
      () => (tA ? gemm(ctx.x(1), dy(), tB, 1) : gemm(dy(), ctx.x(1), 0, tB ? 0 : 1)),
      () => (tB ? gemm(dy(), ctx.x(0), 1, tA) : gemm(ctx.x(0), dy(), tA ? 0 : 1, 0)),
      ctx.in[2] ? () => e.sumToShape(e.scale(dy(), beta, ctx.in[2]), ctx.out[0], ctx.in[2]) : null,
    ];
  },
};
