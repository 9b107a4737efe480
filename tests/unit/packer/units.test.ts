// The packer's parts on their own: the WebGPU op list against the table onnxruntime-web ships,
// the chunk writer, float16 conversion, and reading the UNet's timestep/text facts from graphs.
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { EMITTED_OPS } from '../../../src/autodiff/registry';
import { encodeModel, GraphBuilder, makeValueInfo, type Dim, type DTypeName, type ModelProto } from '../../../src/onnx';
import { fromHalf, toHalf } from '../../../src/onnx/float16';
import { ChunkWriter } from '../../../src/packer/chunks';
import { folderSink } from '../../../src/packer/folderSink';
import { float32BytesToFloat16 } from '../../../src/packer/fp16';
import { inspectUnet, relaxTimestepBatch } from '../../../src/packer/inspect';
import { opsLackingOnWebgpu, WEBGPU_OPS, WEBGPU_TABLE_OPS } from '../../../src/packer/webgpuOps';
import { PackInputError } from '../../../src/packer';
import { removeTempDirs, tempDir } from './helpers';

afterAll(removeTempDirs);

describe('WebGPU op list', () => {
  it("matches the ai.onnx rows of the operator table in the installed onnxruntime-web", () => {
    const table = readFileSync(fileURLToPath(new URL('../../../node_modules/onnxruntime-web/docs/webgpu-operators.md', import.meta.url)), 'utf8');
    const rows = [...table.matchAll(/^\| (\w+) \| ([^|]*)\|/gm)].filter((m) => m[2].includes('ai.onnx')).map((m) => m[1]);
    expect([...WEBGPU_TABLE_OPS].sort()).toEqual(rows.sort());
  });

  it('holds every op the autodiff emits, so train graphs never warn', () => {
    for (const op of EMITTED_OPS) expect(WEBGPU_OPS.has(op), op).toBe(true);
  });

  it('reports lacking ops and foreign-domain ops with counts', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    const y = b.op1('Trilu', [b.op1('Relu', [x])]);
    const z = b.op1('GroupNorm', [b.op1('Trilu', [y])], {}, { domain: 'com.microsoft' });
    b.op1('Constant', [], { value_float: 1.5 }); // ORT folds Constant nodes at load: never reported
    b.output(z, 'out', 'float32', [2, 3]);
    expect([...opsLackingOnWebgpu(b.toModel())]).toEqual([['com.microsoft.GroupNorm', 1], ['Trilu', 2]]);
  });
});

describe('ChunkWriter', () => {
  it('aligns tensors to 64 bytes, starts a new file when the next tensor would not fit, and hashes what it wrote', async () => {
    const dir = tempDir('chunks');
    const w = new ChunkWriter(folderSink(dir), 'unet', 300);
    const t = (n: number, v: number) => new Uint8Array(n).fill(v);
    expect(await w.add('a', t(100, 1))).toEqual({ location: 'weights.0.bin', offset: 0, length: 100 });
    expect(await w.add('b', t(100, 2))).toEqual({ location: 'weights.0.bin', offset: 128, length: 100 });
    // 228 + 28 padding + 100 > 300: a new chunk
    expect(await w.add('c', t(100, 3))).toEqual({ location: 'weights.1.bin', offset: 0, length: 100 });
    expect(await w.add('d', t(300, 4))).toEqual({ location: 'weights.2.bin', offset: 0, length: 300 });
    const files = await w.finish();
    expect(files.map((f) => [f.path, f.size])).toEqual([['unet/weights.0.bin', 228], ['unet/weights.1.bin', 100], ['unet/weights.2.bin', 300]]);
    for (const f of files) {
      const bytes = readFileSync(join(dir, f.path));
      expect(bytes.length).toBe(f.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    const first = readFileSync(join(dir, 'unet', 'weights.0.bin'));
    expect([first[99], first[100], first[127], first[128]]).toEqual([1, 0, 0, 2]);
  });

  it('refuses a tensor larger than a chunk, and sizes outside (64 B, 1.5 GiB]', async () => {
    const w = new ChunkWriter(folderSink(tempDir('chunks')), 'x', 128);
    await expect(w.add('big', new Uint8Array(129))).rejects.toThrow(/^tensor big has 129 bytes, more than the chunk size 128/);
    await w.abort();
    expect(() => new ChunkWriter(folderSink(tempDir('chunks')), 'x', 16)).toThrow(PackInputError);
    expect(() => new ChunkWriter(folderSink(tempDir('chunks')), 'x', 2 ** 31)).toThrow(/give between 64 bytes and 1536 MB/);
  });
});

describe('float16 conversion', () => {
  it('rounds to nearest even from unaligned bytes and refuses values beyond float16', () => {
    const src = new Float32Array([1, -2.5, 1 / 3, 65504, 1e-8, 0]);
    const bytes = new Uint8Array(src.byteLength + 1);
    bytes.set(new Uint8Array(src.buffer), 1);
    const half = new Uint16Array(float32BytesToFloat16(bytes.subarray(1), 'w').buffer);
    expect(Array.from(half, fromHalf)).toEqual([1, -2.5, 0.333251953125, 65504, 0, 0]);
    expect(() => float32BytesToFloat16(new Uint8Array(new Float32Array([7e4]).buffer), 'conv.weight')).toThrow(/tensor conv\.weight holds 70000, beyond float16's range/);
  });

  it('float32 → float16 on the bits gives toHalf exactly, across every exponent and the rounding ties', () => {
    const bits: number[] = [];
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    for (let exp = 0; exp < 256; exp++) {
      for (const sign of [0, 0x80000000]) {
        // the mantissa's ends, exact ties (0x1000 below the kept bits, odd and even), and random ones
        for (const m of [0, 1, 0x7fffff, 0x1000, 0x3000, 0x0fff, 0x1001, 0x7fe000, 0x7ff000, 0x7fefff]) bits.push((sign | (exp << 23) | m) >>> 0);
        for (let k = 0; k < 40; k++) bits.push((sign | (exp << 23) | (next() & 0x7fffff)) >>> 0);
      }
    }
    const u32 = new Uint32Array(bits);
    const f32 = new Float32Array(u32.buffer);
    // beyond float16's range is refused, so compare the finite in-range values, infinities and NaNs
    const keep = Array.from(f32.keys()).filter((i) => !(Number.isFinite(f32[i]) && Math.abs(f32[i]) > 65504));
    const src = new Float32Array(keep.map((i) => f32[i]));
    const got = new Uint16Array(float32BytesToFloat16(new Uint8Array(src.buffer), 'w').buffer);
    expect(keep.length).toBeGreaterThan(14000); // exponents up to 142 (65504 is 2^15·1.999)
    expect(Array.from(got)).toEqual(Array.from(src, (v) => toHalf(v)));
    // 65504 + half an ulp would round to infinity: refused like every other finite value past 65504
    expect(() => float32BytesToFloat16(new Uint8Array(new Uint32Array([0x477ff000]).buffer), 'w')).toThrow(/beyond float16's range/);
  });
});

/** sample + timestep (broadcast per sample) + mean(context): enough graph for inspectUnet and ORT. */
function toyUnet(timestep: { dtype: DTypeName; shape: Dim[] }, sampleDtype: DTypeName = 'float32'): ModelProto {
  const b = new GraphBuilder();
  const sample = b.input('sample', sampleDtype, ['batch', 4, 2, 2]);
  const t = b.input('timestep', timestep.dtype, timestep.shape);
  const ctx = b.input('encoder_hidden_states', 'float32', ['batch', 3, 8]);
  const tf = b.op1('Reshape', [b.op1('Cast', [t], { to: 1 }), b.ints([-1, 1, 1, 1])]);
  const c = b.op1('ReduceMean', [ctx], { axes: [1, 2], keepdims: 0 });
  const out = b.op1('Add', [b.op1('Add', [sample, tf]), b.op1('Reshape', [c, b.ints([-1, 1, 1, 1])])]);
  b.output(out, 'out_sample', 'float32', ['batch', 4, 2, 2]);
  return b.toModel({ opset: 17 });
}

describe('the UNet facts read off the graph', () => {
  it('timestep dtype and shape as exporters write them', () => {
    expect(inspectUnet(toyUnet({ dtype: 'float32', shape: ['batch'] }), 'u')).toMatchObject({ timestepDtype: 'float32', timestepShape: 'batch', timestepWasStaticOne: false, latentChannels: 4, latentSize: 2, contextDim: 8 });
    expect(inspectUnet(toyUnet({ dtype: 'int64', shape: ['steps'] }), 'u')).toMatchObject({ timestepDtype: 'int64', timestepShape: 'batch' });
    expect(inspectUnet(toyUnet({ dtype: 'float16', shape: [] }), 'u')).toMatchObject({ timestepDtype: 'float16', timestepShape: 'scalar' });
    expect(inspectUnet(toyUnet({ dtype: 'int64', shape: [1] }), 'u')).toMatchObject({ timestepDtype: 'int64', timestepShape: 'batch', timestepWasStaticOne: true });
    expect(() => inspectUnet(toyUnet({ dtype: 'int32', shape: ['batch'] }), 'u')).toThrow('u: timestep is int32; the pipeline feeds float32, int64 or float16 timesteps');
    expect(() => inspectUnet(toyUnet({ dtype: 'float32', shape: [1, 1] }), 'u')).toThrow(/timestep has rank 2/);
    expect(() => inspectUnet(toyUnet({ dtype: 'float16', shape: ['batch'] }, 'float16'), 'u')).toThrow('u: sample is float16; the packer converts fp32 exports (export in fp32 and pass --fp16 to store float16 weights)');
  });

  it('a timestep declared [1] is made per sample, so generate()\'s batch of 2 runs', async () => {
    const fixed = toyUnet({ dtype: 'float32', shape: [1] });
    const feeds = {
      sample: new ort.Tensor('float32', new Float32Array(2 * 16), [2, 4, 2, 2]),
      timestep: new ort.Tensor('float32', new Float32Array([3, 5]), [2]),
      encoder_hidden_states: new ort.Tensor('float32', new Float32Array(2 * 24), [2, 3, 8]),
    };
    const before = await ort.InferenceSession.create(encodeModel(fixed));
    await expect(before.run(feeds)).rejects.toThrow(/timestep/);
    const relaxed = relaxTimestepBatch(fixed);
    expect(relaxed.graph!.input!.find((i) => i.name === 'timestep')).toEqual(makeValueInfo('timestep', 'float32', ['timestep_batch']));
    const after = await ort.InferenceSession.create(encodeModel(relaxed));
    const out = (await after.run(feeds)).out_sample.data as Float32Array;
    expect([out[0], out[16]]).toEqual([3, 5]);
  });
});

describe('exports that list their weights as graph inputs (keep_initializers_as_inputs)', () => {
  it('are read with only the real inputs', async () => {
    const { loadSourceGraph } = await import('../../../src/packer/source');
    const { writeFileSync } = await import('node:fs');
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 2]);
    const w = b.param('weight', new Float32Array([1, 2, 3, 4]), [2, 2]);
    b.output(b.op1('MatMul', [x, w]), 'y', 'float32', [2, 2]);
    const model = b.toModel({ opset: 14 });
    model.graph!.input!.push(makeValueInfo(w, 'float32', [2, 2]));
    const dir = tempDir('inputs');
    writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
    const src = loadSourceGraph(join(dir, 'model.onnx'), dir);
    expect(src.model.graph!.input!.map((i) => i.name)).toEqual(['x']);
    expect(src.storage).toBe('inline');
  });
});
