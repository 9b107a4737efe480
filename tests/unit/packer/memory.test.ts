// The memory report's counts: onnxruntime's node order, live ranges, views, in-place outputs and
// constant folding on hand-made graphs, then the estimate against the peak onnxruntime-node
// actually reaches (counted by tools/bench/lib/measurePeak.ts) on the tiny pack's six graphs and
// on the benchmark UNet's forward and train step: within ±25%, float32 on both sides.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildUnetTrainModel } from '../../../src/finetune/trainGraphs';
import { buildUNet } from '../../../src/models';
import { GraphBuilder, type ModelProto } from '../../../src/onnx';
import { loadModelFile, saveModelFile } from '../../../src/onnx/fs';
import { graphMemory, MemoryReportError, ortExecutionOrder } from '../../../src/packer/memory';
import { BENCH_UNET } from '../../../tools/bench/grad';
import { measureGraphPeak } from '../../../tools/bench/lib/measurePeak';
import { inputSpecs } from '../../../tools/bench/lib/measureSession';
import { removeTempDirs, tempDir } from './helpers';

afterAll(removeTempDirs);

const TINY = fileURLToPath(new URL('../../../public/models/tiny/', import.meta.url));

describe('onnxruntime execution order', () => {
  it('searches back from the last leaf first and finishes lower-indexed producers first', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4]);
    const p = b.op1('Relu', [x]);
    const q = b.op1('Sigmoid', [x]);
    const r = b.op1('Add', [q, p]);
    const s = b.op1('Neg', [x]);
    b.output(r, 'r', 'float32', [4]);
    b.output(s, 's', 'float32', [4]);
    const order = ortExecutionOrder(b.toModel().graph!).map((n) => n.opType);
    // output nodes are Identity leaves: `s` (the last) is searched first
    expect(order).toEqual(['Neg', 'Identity', 'Relu', 'Sigmoid', 'Add', 'Identity']);
  });
});

/** x·W, then ·Wᵀ (folded into a copy when the session is created), then an in-place Sigmoid. */
function chain(batch: number | string): ModelProto {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [batch, 100]);
  const w = b.param('w', new Float32Array(100 * 100), [100, 100]);
  const h = b.op1('MatMul', [x, w]);
  const g = b.op1('MatMul', [h, b.op1('Transpose', [w], { perm: [1, 0] })]);
  const y = b.op1('Sigmoid', [g]);
  b.output(b.op1('Reshape', [y, b.ints([-1])]), 'y', 'float32', ['n']);
  return b.toModel();
}

describe('graphMemory', () => {
  it('counts weights with their folded copies, feeds, and the live intermediates at the peak', () => {
    const m = graphMemory(chain(1));
    // w and Transpose(w); x; h and g alive together (Sigmoid overwrites g, Reshape views it)
    expect(m).toEqual({ weightsBytes: 80_000 + 8, copiesBytes: 40_000, peakBytes: 80_008 + 400 + 800, largestTensorBytes: 40_000, largestTensor: 'w' });
  });

  it('binds symbolic dims, counts floats at the asked width, and refuses what it cannot size', () => {
    expect(graphMemory(chain('batch'), { dims: { batch: 3 } }).peakBytes).toBe(80_008 + 3 * 1200);
    expect(graphMemory(chain(1), { floatDtype: 'float16' }).peakBytes).toBe(40_000 + 8 + 600);
    expect(() => graphMemory(chain('batch'))).toThrow(MemoryReportError);
    expect(() => graphMemory(chain('batch'))).toThrow(/bind the symbolic dims.*x \[batch, 100\]/);
  });
});

async function expectNearMeasured(path: string, model: ModelProto, dims: Record<string, number>): Promise<void> {
  const estimate = graphMemory(model, { dims, ep: 'cpu' });
  const measured = await measureGraphPeak(path, inputSpecs(model, dims));
  const ratio = estimate.peakBytes / measured.peakBytes;
  expect(ratio, `${path}: estimated ${estimate.peakBytes} B, measured ${JSON.stringify(measured)}`).toBeGreaterThan(0.75);
  expect(ratio, `${path}: estimated ${estimate.peakBytes} B, measured ${JSON.stringify(measured)}`).toBeLessThan(1.25);
}

describe('estimate against onnxruntime-node CPU', () => {
  const tiny: [string, Record<string, number>][] = [
    ['unet/model.onnx', { batch: 2, lora_rank: 4 }],
    ['unet/train.onnx', { lora_rank: 4 }],
    ['text_encoder/model.onnx', { batch: 2, lora_rank: 4 }],
    ['text_encoder/grad.onnx', { lora_rank: 4 }],
    ['vae_encoder/model.onnx', { batch: 1 }],
    ['vae_decoder/model.onnx', { batch: 1 }],
  ];
  it.each(tiny)('tiny pack %s', async (file, dims) => {
    await expectNearMeasured(join(TINY, file), loadModelFile(join(TINY, file)).model, dims);
  }, 60_000);

  it('benchmark UNet: forward at batch 2 and train step', async () => {
    const dir = tempDir('memory');
    const forward = buildUNet(BENCH_UNET, { seed: 1 }).builder.toModel({ opset: 17 });
    saveModelFile(join(dir, 'forward.onnx'), forward, 1024);
    await expectNearMeasured(join(dir, 'forward.onnx'), forward, { batch: 2, lora_rank: 4 });
    const train = buildUnetTrainModel(forward);
    saveModelFile(join(dir, 'train.onnx'), train, 1024);
    await expectNearMeasured(join(dir, 'train.onnx'), train, { lora_rank: 4 });
  }, 240_000);
});
