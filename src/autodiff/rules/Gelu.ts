import type { GradRule } from '../types';
import { sameShape } from './shapeCommon';

// Opset 20. Exact: dGELU = Φ(x) + x·φ(x). Tanh form: y = ½x(1+t), t = tanh(u),
// u = √(2/π)(x + 0.044715x³): dy/dx = ½(1+t) + ½x(1−t²)·√(2/π)(1 + 3·0.044715x²).
export const Gelu: GradRule = {
  opType: 'Gelu',
  inferShape: sameShape,
  gradFunc: (ctx) => [() => {
    const { e } = ctx;
    const x = ctx.x(0);
    const dt = e.dtypeOf(ctx.in[0]);
    const c = (v: number) => e.scalar(v, dt);
    let d: string;
    if (ctx.attr<string>('approximate', 'none') === 'tanh') {
      const k = Math.sqrt(2 / Math.PI);
      const x2 = e.mul(x, x);
      const u = e.mul(e.mul(x, c(k)), e.add(c(1), e.mul(x2, c(0.044715))));
      const t = e.op1('Tanh', [u]);
      const du = e.mul(c(k), e.add(c(1), e.mul(x2, c(3 * 0.044715))));
      const left = e.mul(c(0.5), e.add(c(1), t));
      const right = e.mul(e.mul(c(0.5), x), e.mul(e.sub(c(1), e.mul(t, t)), du));
      d = e.add(left, right);
    } else {
      const cdf = e.mul(c(0.5), e.add(c(1), e.op1('Erf', [e.mul(x, c(Math.SQRT1_2))])));
      const pdf = e.mul(c(1 / Math.sqrt(2 * Math.PI)), e.op1('Exp', [e.mul(e.mul(x, x), c(-0.5))]));
      d = e.add(cdf, e.mul(x, pdf));
    }
    return e.mul(ctx.dy()!, d);
  }],
};
