// Building blocks several rules share (the shape ones are in shapeCommon.ts).
import type { GradContext, GradRule } from '../types';
import { sameShape } from './shapeCommon';

/** A unary elementwise op whose dx is dy·f'(x, y), with f' built by `deriv`. */
export function unary(opType: string, deriv: (ctx: GradContext, dy: string) => string): GradRule {
  return { opType, inferShape: sameShape, gradFunc: (ctx) => [() => deriv(ctx, ctx.dy()!)] };
}

/** The gradient of a broadcast operand, summed back to its shape. */
export function toInput(ctx: GradContext, g: string, i: number, outIndex = 0): string {
  return ctx.e.sumToShape(g, ctx.out[outIndex], ctx.in[i]);
}
