// convertToFloat16 on the committed SD fixture exports (run on onnxruntime-node's CPU EP, which
// casts around its CPU kernels that lack float16) and on a small graph holding the special
// cases: Constant, Cast to float, ConstantOfShape, Resize's scales, a blocked op, integer paths.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { loadModelFile } from '../../../src/onnx/fs';
import { GraphBuilder, encodeModel, float, inlineExternalData, onnx, consumers, readTensorProto, type ModelProto, type NodeProto } from '../../../src/onnx';
import { convertToFloat16, convertToFloat16WithReport, DEFAULT_FP32_OPS, inferDtypes } from '../../../src/onnx/toFloat16';
import { SeededRandom } from '../../../src/diffusion/random';

const { FLOAT, FLOAT16 } = onnx.TensorProto.DataType;
const fixture = (part: string) => fileURLToPath(new URL(`../../fixtures/sd/diffusers/${part}/model.onnx`, import.meta.url));

function loadInline(part: string): ModelProto {
  const { model, readExternal } = loadModelFile(fixture(part));
  return inlineExternalData(model, readExternal);
}

async function run(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['cpu'] });
  try { return await s.run(feeds); } finally { await s.release(); }
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** float values (inferred) that a node other than a float32-kept one or a Cast reads, as float32 */
function float32ReadsOutsideBlocked(model: ModelProto, fp32Nodes: ReadonlySet<string>): string[] {
  const g = model.graph!;
  const types = inferDtypes(g);
  const bad: string[] = [];
  for (const n of g.node!) {
    if (n.opType === 'Cast' || fp32Nodes.has(n.name!)) continue;
    (n.input ?? []).forEach((v, slot) => {
      if (n.opType === 'Resize' && slot > 0) return;
      if (v && types.get(v) === FLOAT) bad.push(`${n.name}:${v}`);
    });
  }
  return bad;
}

const rng = new SeededRandom(5);
const f32 = (dims: number[], scale = 1) => new ort.Tensor('float32', rng.randn(dims.reduce((a, b) => a * b, 1)).map((v) => v * scale), dims);

describe('convertToFloat16 on the fixture exports', () => {
  const cases: { part: string; feeds: () => Record<string, ort.Tensor>; output: string }[] = [
    { part: 'unet', output: 'out_sample', feeds: () => ({ sample: f32([2, 4, 8, 8]), timestep: new ort.Tensor('float32', Float32Array.of(999, 37), [2]), encoder_hidden_states: f32([2, 77, 16]) }) },
    { part: 'text_encoder', output: 'last_hidden_state', feeds: () => ({ input_ids: new ort.Tensor('int32', Int32Array.from({ length: 77 }, (_, i) => (i * 7) % 50), [1, 77]) }) },
    { part: 'vae_decoder', output: 'sample', feeds: () => ({ latent_sample: f32([1, 4, 8, 8]) }) },
  ];
  for (const c of cases) {
    it(`${c.part}: float16 compute stays close to float32, I/O stay float32, weights float16`, async () => {
      const model = loadInline(c.part);
      const { model: half, report } = convertToFloat16WithReport(model, { keepIoTypes: true });
      const feeds = c.feeds();
      const ref = (await run(model, feeds))[c.output].data as Float32Array;
      const out = (await run(half, feeds))[c.output];
      expect(out.type).toBe('float32');
      const diff = maxAbsDiff(out.data as Float32Array, ref);
      console.log(`${c.part} fp16 vs fp32: max |diff| ${diff.toExponential(2)}, max |out| ${maxAbs(ref).toFixed(3)}, casts added ${report.castsAdded}, float32 nodes ${JSON.stringify([...report.fp32Nodes])}`);
      // measured 1.1e-3 (unet), 4.3e-4 (text encoder), 2.2e-3 (vae decoder) of max |out|
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(1e-2 * maxAbs(ref));

      const g = half.graph!;
      for (const io of [...g.input!, ...g.output!]) {
        const before = [...model.graph!.input!, ...model.graph!.output!].find((x) => x.name === io.name)!;
        expect(io.type!.tensorType!.elemType, io.name!).toBe(before.type!.tensorType!.elemType);
      }
      const cons = consumers(g);
      const blocked = new Set(DEFAULT_FP32_OPS);
      for (const t of g.initializer!) {
        const before = model.graph!.initializer!.find((x) => x.name === t.name)!;
        if (before.dataType !== FLOAT) {
          expect(t, `${t.name} is not float: untouched`).toBe(before);
          continue;
        }
        const onlyFp32 = (cons.get(t.name!) ?? []).every((n) => blocked.has(n.opType!) || (n.opType === 'Resize'));
        expect(t.dataType, t.name!).toBe(onlyFp32 ? FLOAT : FLOAT16);
      }
      expect(report.initializersConverted).toBeGreaterThan(10);
      expect(float32ReadsOutsideBlocked(half, report.fp32NodeNames)).toEqual([]);
      expect(report.fp32NodeNames.size).toBe([...report.fp32Nodes.values()].reduce((a, b) => a + b, 0));
      const casts = (m: ModelProto) => m.graph!.node!.filter((n) => n.opType === 'Cast').length;
      expect(casts(half)).toBe(casts(model) + report.castsAdded);
      // one Cast per float input and output, and at most one each way around each float32 node
      const fp32Count = [...report.fp32Nodes.values()].reduce((a, b) => a + b, 0);
      const floatIo = [...g.input!, ...g.output!].filter((v) => v.type!.tensorType!.elemType === FLOAT).length;
      expect(report.castsAdded).toBeLessThanOrEqual(floatIo + 3 * fp32Count);
    });
  }

  it('the UNet time embedding (Sin/Cos and the frequencies feeding them) stays float32', () => {
    const model = loadInline('unet');
    const { report } = convertToFloat16WithReport(model, { keepIoTypes: true });
    expect(report.fp32Nodes.get('Sin')).toBe(1);
    expect(report.fp32Nodes.get('Cos')).toBe(1);
    // the angle t·f: the Mul feeding Sin, and the timestep's own path to it
    const g = model.graph!;
    const sin = g.node!.find((n) => n.opType === 'Sin')!;
    const angle = g.node!.find((n) => n.output!.includes(sin.input![0]))!;
    expect(angle.opType).toBe('Mul');
    expect(report.fp32NodeNames.has(angle.name!)).toBe(true);
    const readsTimestep = g.node!.filter((n) => n.input!.includes('timestep'));
    expect(readsTimestep.length).toBeGreaterThan(0);
    for (const n of readsTimestep) expect(report.fp32NodeNames.has(n.name!), n.name!).toBe(true);
  });

  it('blockOps / blockNodes choose what stays float32', () => {
    const model = loadInline('text_encoder');
    const none = convertToFloat16WithReport(model, { keepIoTypes: true, blockOps: [] }).report;
    expect(none.fp32Nodes.size).toBe(0);
    const byName = convertToFloat16WithReport(model, { keepIoTypes: true, blockOps: [], blockNodes: (n) => n.opType === 'Softmax' }).report;
    const softmaxes = model.graph!.node!.filter((n) => n.opType === 'Softmax').length;
    expect(softmaxes).toBeGreaterThan(0);
    expect(byName.fp32Nodes.get('Softmax')).toBe(softmaxes);
    // what joins them are cheap ops only feeding them (the attention mask's Add, its reshapes)
    for (const op of byName.fp32Nodes.keys()) expect(['Softmax', 'Add', 'Reshape', 'Unsqueeze']).toContain(op);
  });
});

describe('convertToFloat16 special cases', () => {
  // x → InstanceNormalization → Mul(Constant 2) → Resize(scales 2×) → Add(ConstantOfShape(Shape(x)) 0.5)
  // plus an integer path Shape → Gather → Cast(to float) → Mul, and a second output straight from the Resize
  function special(): ModelProto {
    const b = new GraphBuilder('special');
    const x = b.input('x', 'float32', [1, 2, 4, 4]);
    const norm = b.op1('InstanceNormalization', [x, b.constant(Float32Array.of(1, 1), [2]), b.constant(Float32Array.of(0, 0), [2])], { epsilon: 1e-5 });
    const two = b.op1('Constant', [], { value_float: float(2) });
    const scaled = b.op1('Mul', [norm, two]);
    const up = b.op1('Resize', [scaled, '', b.constant(Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest' });
    const shape = b.op1('Shape', [up]);
    const half = b.op1('ConstantOfShape', [shape], { value: { name: '', dataType: FLOAT, dims: [1], rawData: new Uint8Array(Float32Array.of(0.5).buffer) } });
    const width = b.op1('Gather', [shape, b.constant(BigInt64Array.of(3n), [])], { axis: 0 });
    const widthF = b.op1('Cast', [width], { to: FLOAT });
    const sum = b.op1('Add', [up, half]);
    const out = b.op1('Mul', [sum, widthF]);
    b.output(out, 'y', 'float32', [1, 2, 8, 8]);
    b.output(up, 'up', 'float32', [1, 2, 8, 8]);
    return b.toModel({ opset: 17 });
  }

  it('converts Constants, Casts to float and ConstantOfShape; keeps Resize scales and integer paths; runs', async () => {
    const model = special();
    const half = convertToFloat16(model, { keepIoTypes: true });
    const g = half.graph!;
    const node = (op: string): NodeProto => g.node!.find((n) => n.opType === op && !n.name!.startsWith('/float16/'))!;
    expect(node('Constant').attribute![0].t!.dataType).toBe(FLOAT16);
    expect(node('ConstantOfShape').attribute![0].t!.dataType).toBe(FLOAT16);
    expect(node('Cast').attribute![0].i).toBe(FLOAT16);
    const scales = g.initializer!.find((t) => t.name === node('Resize').input![2])!;
    expect(scales.dataType).toBe(FLOAT);
    const gatherIdx = g.initializer!.find((t) => t.name === node('Gather').input![1])!;
    expect(readTensorProto(gatherIdx).dtype).toBe('int64');
    // InstanceNormalization reads float32 (the input directly) and its scale/bias stay float32
    const inorm = node('InstanceNormalization');
    expect(inorm.input![0]).toBe('x');
    for (const p of inorm.input!.slice(1)) expect(g.initializer!.find((t) => t.name === p)!.dataType).toBe(FLOAT);
    expect(g.output!.map((o) => o.type!.tensorType!.elemType)).toEqual([FLOAT, FLOAT]);

    const feeds = { x: new ort.Tensor('float32', rng.randn(32), [1, 2, 4, 4]) };
    const ref = await run(model, feeds);
    const got = await run(half, feeds);
    for (const k of ['y', 'up']) {
      expect(got[k].type).toBe('float32');
      expect(maxAbsDiff(got[k].data as Float32Array, ref[k].data as Float32Array)).toBeLessThan(2e-2 * maxAbs(ref[k].data as Float32Array));
    }
  });

  it('does not change the model it was given', () => {
    const model = special();
    const before = encodeModel(model);
    convertToFloat16(model, { keepIoTypes: true });
    expect(encodeModel(model)).toEqual(before);
  });
});
