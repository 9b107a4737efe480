// The fixtures themselves: every torch.onnx export runs on onnxruntime-node and reproduces
// torch's forward output, and every fixture has what the oracle test needs. A failure here is
// a fixture problem, not an autodiff one.
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../../src/onnx';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { agreement, listGradFixtures, loadGradFixture } from './torchFixtures';

const fixtures = listGradFixtures();
const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: 1 });

describe('PyTorch gradient fixtures', () => {
  it('cover at least 40 torch modules, each at opsets 14 and 17', () => {
    const cases = new Map<string, Set<number>>();
    for (const stem of fixtures) {
      const [name, opset] = stem.split('.opset');
      cases.set(name, (cases.get(name) ?? new Set()).add(Number(opset)));
    }
    expect(cases.size).toBeGreaterThanOrEqual(40);
    for (const [name, opsets] of cases) expect([...opsets].sort(), name).toEqual([14, 17]);
    for (const block of ['resnet_block2d', 'transformer2d_block', 'clip_encoder_layer', 'vit_embed_layer', 'vae_up_block']) {
      expect(cases.has(block), block).toBe(true);
    }
  });

  it.each(fixtures)('%s: the export runs on onnxruntime-node and matches torch', async (stem) => {
    const f = loadGradFixture(stem);
    const model = decodeModel(f.modelBytes);
    const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name));
    const inputs = new Set((model.graph?.input ?? []).map((i) => i.name));
    for (const w of f.wrt) expect(initializers.has(w) || inputs.has(w), `${w} is an input or initializer`).toBe(true);
    expect(Object.keys(f.grads).sort()).toEqual([...f.wrt].sort());
    for (const w of f.wrt) {
      const nonZero = f.grads[w].data.some((v) => v !== 0);
      expect(nonZero, `torch gradient of ${w} is ${f.zeroGrads.includes(w) ? 'stored as zeros' : 'not all zeros'}`).toBe(!f.zeroGrads.includes(w));
    }

    const session = await runtime.createSession({ name: stem, model: f.modelBytes });
    try {
      const out = await session.run(f.inputs, f.of);
      for (const o of f.of) {
        const a = agreement(out[o], f.outputs[o]);
        expect(a.ok, `${stem} output ${o}: ${a.why}`).toBe(true);
      }
    } finally {
      await session.release();
    }
  });
});
