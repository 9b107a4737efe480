// Building blocks several rules share.
import type { GradContext, GradRule, GradThunk } from '../types';

/** A unary elementwise op whose dx is dy·f'(x, y), with f' built by `deriv`. */
export function unary(opType: string, deriv: (ctx: GradContext, dy: string) => string): GradRule {
  return { opType, gradFunc: (ctx) => [() => deriv(ctx, ctx.dy()!)] };
}

/** The gradient of a broadcast operand, summed back to its shape. */
export function toInput(ctx: GradContext, g: string, i: number, outIndex = 0): string {
  return ctx.e.sumToShape(g, ctx.out[outIndex], ctx.in[i]);
}

export const none: GradThunk | null = null;
