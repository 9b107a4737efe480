import type { GradRule } from '../types';
import { float } from '../../onnx';

// Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A, B' likewise; each gradient is one Gemm.
export const Gemm: GradRule = {
  opType: 'Gemm',
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
