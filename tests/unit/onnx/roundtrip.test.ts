import { describe, it, expect } from 'vitest';
import { GraphBuilder, float, encodeModel, decodeModel, encodeModelWithExternalData, memoryExternalReader,
  inlineExternalData, readTensorProto, attr, valueTypes, topologicalOrder, float32ToFloat16, float16ToFloat32 } from '../../../src/onnx';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';

function smallMlp() {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['batch', 3]);
  const y = b.scope('fc', () => {
    const w = b.param('weight', new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
    const bias = b.param('bias', new Float32Array([0.5, -0.5]), [2]);
    return b.op1('Add', [b.op1('MatMul', [x, w]), bias]);
  });
  const g = b.op1('Gemm', [y, b.param('g.weight', new Float32Array([1, 0, 0, 1]), [2, 2])], { alpha: float(2), transB: 1 });
  b.output(g, 'y', 'float32', ['batch', 2]);
  return b.toModel({ opset: 17 });
}

describe('ONNX core', () => {
  it('write -> read gives the identical graph', () => {
    const m = smallMlp();
    const bytes = encodeModel(m);
    const back = decodeModel(bytes);
    expect(encodeModel(back)).toEqual(bytes);
    const nodes = back.graph!.node!;
    expect(nodes.map((n) => n.name)).toEqual(['/fc/MatMul', '/fc/Add', '/Gemm', '/output_y']);
    expect(back.graph!.initializer!.map((t) => t.name)).toEqual(['fc.weight', 'fc.bias', 'g.weight']);
    expect(attr(nodes[2], 'alpha')).toBe(2);
    expect(attr(nodes[2], 'transB')).toBe(1);
    const w = readTensorProto(back.graph!.initializer![0]);
    expect(w.dims).toEqual([3, 2]);
    expect(Array.from(w.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const types = valueTypes(back.graph!);
    expect(types.get('x')).toEqual({ dtype: 'float32', shape: ['batch', 3] });
    expect(topologicalOrder(back.graph!).map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Gemm', 'Identity']);
  });

  it('external data round trip keeps every tensor', () => {
    const m = smallMlp();
    const { model, data } = encodeModelWithExternalData(m, { location: 'w.bin', thresholdBytes: 16 });
    const back = decodeModel(model);
    const ext = back.graph!.initializer!.filter((t) => t.dataLocation === 1).map((t) => t.name);
    expect(ext).toEqual(['fc.weight', 'g.weight']); // 24 and 16 bytes; the 8-byte bias stays inline
    const reader = memoryExternalReader({ 'w.bin': data });
    const w = readTensorProto(back.graph!.initializer![0], reader);
    expect(Array.from(w.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => readTensorProto(back.graph!.initializer![0])).toThrow(/external file w.bin/);
    expect(() => memoryExternalReader({ 'w.bin': data.subarray(0, 4) })('w.bin', 0, 24)).toThrow(/outside the file/);
    const inlined = inlineExternalData(back, reader);
    expect(encodeModel(inlined)).toEqual(encodeModel(decodeModel(encodeModel(m))));
  });

  it('a built model runs in onnxruntime-node with the expected numbers, with and without external data', async () => {
    const rt = createNodeRuntime();
    const m = smallMlp();
    const x = new Float32Array([1, 0, -1, 0.5, 0.5, 0.5]);
    // x·W + b then 2·(y·Iᵀ)
    const expected = [2 * (1 - 5 + 0.5), 2 * (2 - 6 - 0.5), 2 * (0.5 * 9 + 0.5), 2 * (0.5 * 12 - 0.5)];
    for (const src of [
      { name: 'inline', model: encodeModel(m) },
      (() => { const e = encodeModelWithExternalData(m, { location: 'w.bin', thresholdBytes: 8 }); return { name: 'ext', model: e.model, externalData: [{ path: 'w.bin', data: e.data }] }; })(),
    ]) {
      const s = await rt.createSession(src);
      const out = await s.run({ x: { type: 'float32', data: x, dims: [2, 3] } });
      expect(Array.from(out.y.data as Float32Array)).toEqual(expected);
      await s.release();
    }
  });

  it('float16 conversion rounds to nearest even and keeps specials', () => {
    const v = new Float32Array([0, -0, 1, -2.5, 65504, 70000, 1e-8, 5.960464477539063e-8, Infinity, NaN, 0.1]);
    const back = float16ToFloat32(float32ToFloat16(v));
    expect(back[2]).toBe(1);
    expect(back[3]).toBe(-2.5);
    expect(back[4]).toBe(65504);
    expect(back[5]).toBe(Infinity);
    expect(back[6]).toBe(0);
    expect(back[7]).toBe(5.960464477539063e-8);
    expect(back[8]).toBe(Infinity);
    expect(Number.isNaN(back[9])).toBe(true);
    expect(Math.abs(back[10] - 0.1)).toBeLessThan(1e-4);
  });
});
