// Building blocks several shape functions share (the gradient ones are in common.ts).
import { type Dim, broadcastShapes } from '../dims';
import type { ShapeFunc } from '../types';

export const normalizeAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Output 0 has input 0's dtype and shape: elementwise ops, normalizations, softmaxes. */
export const sameShape: ShapeFunc = (ctx) => ({ outputs: [{ dtype: ctx.inputDtype(0), shape: ctx.inputShape(0) }] });

/** A boolean of input 0's shape: elementwise predicates. */
export const sameShapeBool: ShapeFunc = (ctx) => ({ outputs: [{ dtype: 'bool', shape: ctx.inputShape(0) }] });

/** Per-element arithmetic on tracked integer contents; a one-element side is broadcast. */
export function combineTracked(a: Dim[], b: Dim[], f: (x: Dim, y: Dim) => Dim): Dim[] | null {
  if (a.length !== b.length && a.length !== 1 && b.length !== 1) return null;
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => f(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]));
}

export interface BroadcastOptions {
  /** the output is boolean (comparisons, logic), else it has input 0's dtype */
  bool?: boolean;
  /** folds the tracked contents of a two-input op element by element (shape arithmetic) */
  combine?: (x: Dim, y: Dim) => Dim;
}

/** Numpy (multidirectional) broadcast of every input. */
export function broadcastShape(opts: BroadcastOptions = {}): ShapeFunc {
  return (ctx) => {
    const shapes = ctx.in.map((_, i) => ctx.inputShape(i));
    const shape = shapes.every((s) => s) ? broadcastShapes(shapes as Dim[][]) : null;
    const a = ctx.inputValues(0), b = ctx.inputValues(1);
    const values = opts.combine && a && b && ctx.in.length === 2 ? combineTracked(a, b, opts.combine) : null;
    return ctx.oneOutput(opts.bool ? 'bool' : ctx.inputDtype(0), shape, values);
  };
}
