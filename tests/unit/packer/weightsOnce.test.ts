// Train graphs that hold each weight once (src/packer/weightsOnce.ts): the same loss and
// gradients, no copies left for onnxruntime's constant folding, and in a float16-weight train
// graph the session holds the float16 weights instead of float32 copies (measured in
// onnxruntime-node CPU with tools/bench/lib/measurePeak.ts, and within ±25% of the estimate).
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildUnetTrainModel } from '../../../src/finetune/trainGraphs';
import type { ModelProto } from '../../../src/onnx';
import { saveModelFile } from '../../../src/onnx/fs';
import { float32BytesToFloat16, storeWeightsAsFp16 } from '../../../src/packer/fp16';
import { graphMemory } from '../../../src/packer/memory';
import { holdWeightsOnce } from '../../../src/packer/weightsOnce';
import { WEIGHTS_ONCE_CPU_CONFIG } from '../../../src/runtime/sessionOptions';
import { measureGraphPeak } from '../../../tools/bench/lib/measurePeak';
import { inputSpecs } from '../../../tools/bench/lib/measureSession';
import { removeTempDirs, tempDir } from './helpers';
import { DIMS, loadTinyGraph as load, outputs, relDiff } from './tinyGraphRuns';

afterAll(removeTempDirs);


/** The tiny UNet with its large weights stored as float16 + Cast, as hyperbooth pack --fp16 stores them. */
function withFloat16Weights(unet: ModelProto): ModelProto {
  const { model, converted } = storeWeightsAsFp16(unet, 1024);
  const initializer = (model.graph!.initializer ?? []).map((t) =>
    converted.has(t.name!) ? { ...t, rawData: float32BytesToFloat16(t.rawData!, t.name!) } : t);
  return { ...model, graph: { ...model.graph!, initializer } };
}

describe('holdWeightsOnce', () => {
  it('tiny UNet train step: the same loss and gradients; no weight copy left for constant folding', async () => {
    const train = load('unet/train.onnx');
    const { model, rerouted } = holdWeightsOnce(train);
    expect(rerouted).toBeGreaterThan(0);
    const [a, b] = [await outputs(train), await outputs(model)];
    for (const k of Object.keys(a)) expect(relDiff(b[k], a[k]), k).toBeLessThan(1e-5);
    const before = graphMemory(train, { dims: DIMS });
    const after = graphMemory(model, { dims: DIMS });
    expect(before.copiesBytes).toBeGreaterThan(1e6);
    // constants under 256 elements (shape arithmetic, scalars) stay foldable
    expect(after.copiesBytes).toBeLessThan(0.01 * before.copiesBytes);
    // the stored weights, plus the gates' few dims and zero constants
    expect(after.weightsBytes - (before.weightsBytes - before.copiesBytes + after.copiesBytes)).toBeLessThan(0.001 * after.weightsBytes);
  });

  it('float16 weights: the session holds them once, as float16; gradients as the float32 graph', async () => {
    const dir = tempDir('weights-once');
    const fp32 = buildUnetTrainModel(load('unet/model.onnx'));
    const fp16 = buildUnetTrainModel(withFloat16Weights(load('unet/model.onnx')));
    const once = holdWeightsOnce(fp16).model;
    const measured: Record<string, Awaited<ReturnType<typeof measureGraphPeak>>> = {};
    for (const [name, m] of [['fp16', fp16], ['once', once]] as const) {
      saveModelFile(join(dir, `${name}.onnx`), m);
      measured[name] = await measureGraphPeak(join(dir, `${name}.onnx`), inputSpecs(m, DIMS));
    }
    const estimate = graphMemory(fp16, { dims: DIMS, ep: 'cpu' }).peakBytes;
    expect(estimate / measured.fp16.peakBytes).toBeGreaterThan(0.75);
    expect(estimate / measured.fp16.peakBytes).toBeLessThan(1.25);
    // folded: float32 copies (4 bytes a weight); once: the float16 weights (2 bytes), as estimated
    const stored = graphMemory(once, { dims: DIMS }).weightsBytes;
    expect(measured.once.weightsHeldBytes).toBeLessThan(0.3 * measured.fp16.weightsHeldBytes);
    expect(Math.abs(measured.once.weightsHeldBytes - stored) / stored).toBeLessThan(0.05);
    // the run casts each weight where it is used: measured 11.0 → 6.5 MB at the peak. (The CPU EP
    // re-lays run-time Conv weights out per run, which the estimate does not count: 4.6 MB.)
    expect(measured.once.peakBytes).toBeLessThan(0.7 * measured.fp16.peakBytes);

    const [ref, got, folded] = [await outputs(fp32), await outputs(once), await outputs(fp16)];
    let worst = 0;
    for (const k of Object.keys(ref)) {
      expect(relDiff(got[k], folded[k]), k).toBeLessThan(1e-5);
      // float16 weights round at 2^-11 relative; the train graph computes in float32 from them
      worst = Math.max(worst, relDiff(got[k], ref[k]));
    }
    console.log(`float16-weight train graph vs float32: largest gradient/loss difference ${worst.toExponential(2)} of the output's largest magnitude`);
    expect(worst).toBeLessThan(2e-2);
  }, 120_000);

  it('float32 train graph in a WEIGHTS_ONCE_CPU_CONFIG session: each weight held once (twice by default)', async () => {
    const dir = tempDir('weights-once-config');
    const train = holdWeightsOnce(buildUnetTrainModel(load('unet/model.onnx'), undefined, { convInputGradient: 'conv-transpose' })).model;
    saveModelFile(join(dir, 'train.onnx'), train);
    const specs = inputSpecs(train, DIMS);
    const byDefault = await measureGraphPeak(join(dir, 'train.onnx'), specs);
    const once = await measureGraphPeak(join(dir, 'train.onnx'), specs, WEIGHTS_ONCE_CPU_CONFIG);
    const stored = graphMemory(train, { dims: DIMS }).weightsBytes;
    console.log(`tiny UNet train step, session-held weights: stored ${stored} B, default ${byDefault.weightsHeldBytes} B, WEIGHTS_ONCE_CPU_CONFIG ${once.weightsHeldBytes} B`);
    // default: NCHWc re-layouts and pre-packed copies beside the weights the backward reads
    expect(byDefault.weightsHeldBytes).toBeGreaterThan(1.6 * stored);
    expect(Math.abs(once.weightsHeldBytes - stored) / stored).toBeLessThan(0.05);
  }, 120_000);
});
