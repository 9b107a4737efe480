// The op registry: every op it knows has a shape function and a gradient rule or the reason it
// has none, and an op it does not know is a typed error naming the op.
import { describe, expect, it } from 'vitest';
import { buildGradientModel, EMITTED_OPS, knownOps, NoShapeFunctionError, supportedOps } from '../../../src/autodiff';
import { gradRule, opRule } from '../../../src/autodiff/registry';
import { inferNode, inferShapes } from '../../../src/autodiff/shapes';
import { isFloat } from '../../../src/autodiff/shapeTable';
import type { NoGradientReason } from '../../../src/autodiff/types';
import { GraphBuilder, makeValueInfo, onnx } from '../../../src/onnx';

const REASONS: NoGradientReason[] = ['integer or boolean output', 'integer inputs only', 'piecewise constant', 'differentiable, no rule'];

function reasonForNoGradient(op: string): NoGradientReason | null {
  const r = opRule(op)!;
  return r.gradFunc ? null : r.noGradient;
}

describe('the op registry', () => {
  it('gives every op it knows a shape function, and a gradient rule or a reason for having none', () => {
    const ops = knownOps();
    expect(ops.length).toBeGreaterThan(supportedOps().length);
    for (const op of ops) {
      const r = opRule(op)!;
      expect(r.opType, op).toBe(op);
      expect(typeof r.inferShape, `${op}: shape function`).toBe('function');
      if (r.gradFunc) expect('noGradient' in r, `${op} has a gradient and a reason for none`).toBe(false);
      else expect(REASONS, `${op}: reason for no gradient`).toContain(r.noGradient);
    }
  });

  it('lists as supported exactly the ops with a gradient rule', () => {
    expect(supportedOps()).toEqual(knownOps().filter((op) => opRule(op)!.gradFunc));
    for (const op of supportedOps()) expect(gradRule(op)?.opType, op).toBe(op);
    for (const op of knownOps().filter((o) => !supportedOps().includes(o))) expect(gradRule(op), op).toBeUndefined();
  });

  it('infers the shapes of every op a backward graph may contain, so a gradient graph can be inferred again', () => {
    for (const op of EMITTED_OPS) expect(opRule(op)?.inferShape, op).toBeTypeOf('function');
  });

  it('ops said to have integer or boolean outputs give no float output for float inputs', () => {
    const integerOut = knownOps().filter((op) => reasonForNoGradient(op) === 'integer or boolean output');
    expect(integerOut).toEqual(expect.arrayContaining(['Shape', 'Equal', 'ArgMax', 'NonZero']));
    for (const op of integerOut) {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [2, 3]);
      const y = b.input('y', 'float32', [2, 3]);
      const outs = b.op(op, [x, y], {}, { outputs: 1 });
      const t = inferShapes(b.toGraph(), 17);
      const dtype = t.dtype(outs[0]);
      expect(dtype, op).not.toBeNull();
      expect(isFloat(dtype), `${op} gives ${dtype}`).toBe(false);
    }
  });
});

describe('an op without a shape function', () => {
  const frobnicate = () => onnx.NodeProto.create({ name: '/blocks.0/Frobnicate', opType: 'Frobnicate', input: ['c'], output: ['f'] });

  it('is a NoShapeFunctionError naming the op and the node', () => {
    const b = new GraphBuilder();
    b.input('c', 'float32', [3, 4]);
    const t = inferShapes(b.toGraph(), 17);
    let err: unknown;
    try { inferNode(frobnicate(), t); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NoShapeFunctionError);
    const e = err as NoShapeFunctionError;
    expect([e.opType, e.nodeName]).toEqual(['Frobnicate', '/blocks.0/Frobnicate']);
    expect(e.message).toMatch(/op Frobnicate \(node '\/blocks\.0\/Frobnicate'\) has no shape function/);
  });

  /** y = x · Frobnicate(c): MatMul's gradient needs the rank of Frobnicate's output */
  function model(declareF: boolean) {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    const c = b.param('c', new Float32Array(12), [3, 4]);
    b.nodes.push(onnx.NodeProto.create({ ...frobnicate(), input: [c] }));
    if (declareF) b.valueInfo.push(makeValueInfo('f', 'float32', [3, 4]));
    b.output(b.op1('MatMul', [x, 'f']), 'y', 'float32', [2, 4]);
    return b.toModel({ opset: 17 });
  }

  it('stops a gradient that needs its output\'s shape with that error, naming the value too', () => {
    let err: unknown;
    try { buildGradientModel(model(false), { of: ['y'], wrt: ['x'] }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NoShapeFunctionError);
    const e = err as NoShapeFunctionError;
    expect([e.opType, e.value]).toEqual(['Frobnicate', 'f']);
    expect(e.message).toMatch(/cannot infer the shape of 'f': op Frobnicate/);
  });

  it('is no obstacle when the model declares value_info for its outputs', () => {
    const grad = buildGradientModel(model(true), { of: ['y'], wrt: ['x'] });
    expect((grad.graph!.output ?? []).map((o) => o.name)).toContain('x_grad');
  });
});
