// A --fp16 pack's train graphs compute in float16 (src/packer/fp16.ts): differentiated from the
// float16 forward graph, float32 at the edges (LoRA factors, loss, gradients) and where
// convertToFloat16 keeps it, with a static loss scale. Measured here on the tiny pack against the
// float32 graphs in onnxruntime-node CPU (which runs float16 nodes it has no kernel for through
// float32 casts, rounding every value to float16 between nodes as a float16 device stores it).
import { describe, expect, it } from 'vitest';
import { buildTextEncoderGradModel, buildUnetTrainModel } from '../../../src/finetune/trainGraphs';
import { onnx, type ModelProto } from '../../../src/onnx';
import { convertToFloat16 } from '../../../src/onnx/toFloat16';
import { float16LossScale, float32BytesToFloat16, storeWeightsAsFp16 } from '../../../src/packer/fp16';
import { graphMemory } from '../../../src/packer/memory';
import { holdWeightsOnce } from '../../../src/packer/weightsOnce';
import { DIMS, loadTinyGraph as load, outputs, relDiff } from './tinyGraphRuns';


/** The forward graph as hyperbooth pack --fp16 writes it: float16 weights, float16 compute, float32 inputs and outputs. */
function asFp16Pack(forward: ModelProto, minBytes = 1024): ModelProto {
  const { model, converted } = storeWeightsAsFp16(forward, minBytes);
  const initializer = (model.graph!.initializer ?? []).map((t) => (converted.has(t.name!) ? { ...t, rawData: float32BytesToFloat16(t.rawData!, t.name!) } : t));
  return convertToFloat16({ ...model, graph: { ...model.graph!, initializer } }, { keepIoTypes: true });
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const largeFloat32 = (m: ModelProto) => (m.graph!.initializer ?? []).filter((t) => t.dataType === FLOAT && (t.dims ?? []).reduce((a, b) => a * Number(b), 1) >= 256).map((t) => t.name);

function worstOver(got: Record<string, Float32Array>, ref: Record<string, Float32Array>): { worst: number; at: string } {
  let worst = 0, at = '';
  for (const k of Object.keys(ref)) {
    expect(got[k], k).toBeDefined();
    const d = relDiff(got[k], ref[k]);
    if (d > worst) { worst = d; at = k; }
  }
  return { worst, at };
}

describe('float16 train graphs', () => {
  it('SD1.5 at 512 px gets a loss scale of 64; the tiny pack none', () => {
    expect(float16LossScale(4 * 64 * 64)).toBe(64);
    expect(float16LossScale(4 * 32 * 32)).toBe(16);
    expect(float16LossScale(4 * 8 * 8)).toBe(1);
  });

  it('tiny UNet train step computed in float16: loss and every gradient within 2e-2 of the float32 graph; the weights held once, as float16', async () => {
    const forward = load('unet/model.onnx');
    const fp32 = buildUnetTrainModel(forward);
    const half = asFp16Pack(forward);
    const train = holdWeightsOnce(buildUnetTrainModel(half)).model;
    // scaled as SD1.5 at 512 px is: same outputs, the backward pass 64× larger
    const scaled = holdWeightsOnce(buildUnetTrainModel(half, undefined, { lossScale: 64 })).model;
    expect(largeFloat32(train)).toEqual([]);

    const [ref, got, gotScaled] = [await outputs(fp32), await outputs(train), await outputs(scaled)];
    const plain = worstOver(got, ref);
    const withScale = worstOver(gotScaled, ref);
    console.log(`float16 UNet train step vs float32: largest difference ${plain.worst.toExponential(2)} (${plain.at}), loss scale 64: ${withScale.worst.toExponential(2)} (${withScale.at}), of each output's largest magnitude`);
    expect(plain.worst).toBeLessThan(2e-2);
    expect(withScale.worst).toBeLessThan(2e-2);
    expect(relDiff(got.loss, ref.loss)).toBeLessThan(1e-3);

    // the session holds the float16 weights (2 bytes each) and no float32 copies; the float32
    // train graph held 4 bytes a weight
    const m16 = graphMemory(train, { dims: DIMS });
    const m32 = graphMemory(holdWeightsOnce(fp32).model, { dims: DIMS });
    expect(m16.copiesBytes).toBeLessThan(0.01 * m16.weightsBytes);
    expect(m16.weightsBytes / m32.weightsBytes).toBeLessThan(0.55);
    expect(m16.peakBytes).toBeLessThan(m32.peakBytes);
  }, 120_000);

  it('tiny text-encoder gradient computed in float16 (scaled seed): c and the slot gradients within 2e-2 of float32', async () => {
    const forward = load('text_encoder/model.onnx');
    const fp32 = buildTextEncoderGradModel(forward);
    // its causal mask holds −3.4e38, which --fp16 refuses to store: convertToFloat16 makes every
    // initializer float16 here (the mask −inf)
    const half = holdWeightsOnce(buildTextEncoderGradModel(asFp16Pack(forward, Infinity), undefined, { lossScale: 64 })).model;
    expect(largeFloat32(half)).toEqual([]);
    const { worst, at } = worstOver(await outputs(half), await outputs(fp32));
    console.log(`float16 text-encoder gradient vs float32: largest difference ${worst.toExponential(2)} (${at})`);
    expect(worst).toBeLessThan(2e-2);
  }, 120_000);
});
