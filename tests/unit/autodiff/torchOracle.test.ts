// PyTorch as the oracle: for every fixture (tools/fixtures/make_grad_fixtures.py) our gradient
// graph, run on onnxruntime-node CPU, must give torch autograd's gradients.
// Agreement (see agreement() in torchFixtures.ts), per gradient tensor:
//   ‖ours − torch‖₂ / max(‖torch‖₂, 1e-30) ≤ 1e-4, and element-wise
//   |oursᵢ − torchᵢ| ≤ 1e-4·|torchᵢ| + 1e-4·max|torch|.
// torch's gradients come from a float64 copy of each module, so the tolerance measures our
// float32 graph alone. Gradients that are zero in exact arithmetic (a key bias under softmax)
// must instead stay below 1e-5 of the fixture's largest gradient entry. A missing rule makes
// buildGradientModel throw: that fixture fails.
import { describe, expect, it } from 'vitest';
import { buildGradientModel } from '../../../src/autodiff';
import { decodeModel, encodeModel } from '../../../src/onnx';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { agreement, gradientFeeds, gradientScale, nearZero, listGradFixtures, loadGradFixture, type GradFixture } from './torchFixtures';

const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: 1 });
const fixtures = listGradFixtures();
/** Building blocks whose gradients are also checked with recomputation (checkpointing). */
const blocks = fixtures.filter((s) => /^(resnet_block2d|transformer2d_block|clip_encoder_layer|clip_text_tiny|vit_embed_layer|vae_up_block)\.opset/.test(s));

async function checkGradients(f: GradFixture, recompute?: 'auto'): Promise<void> {
  const model = buildGradientModel(decodeModel(f.modelBytes), { of: f.of, wrt: f.wrt, ...(recompute ? { recompute } : {}) });
  const session = await runtime.createSession({ name: `${f.stem} gradient`, model: encodeModel(model) });
  try {
    for (const o of f.of) expect(session.outputNames, 'original outputs are kept').toContain(o);
    const gradNames = f.wrt.map((w) => `${w}_grad`);
    const out = await session.run(gradientFeeds(f), [...f.of, ...gradNames]);
    const failures: string[] = [];
    for (const o of f.of) {
      const a = agreement(out[o], f.outputs[o]);
      if (!a.ok) failures.push(`output ${o}: ${a.why}`);
    }
    const scale = gradientScale(f);
    for (const w of f.wrt) {
      const a = f.zeroGrads.includes(w) ? nearZero(out[`${w}_grad`], f.grads[w], scale) : agreement(out[`${w}_grad`], f.grads[w]);
      if (!a.ok) failures.push(`${w}_grad${f.params[w] ? ` (torch ${f.params[w].torch})` : ''}: ${a.why}`);
    }
    expect(failures, `${f.stem}${recompute ? ' (recompute auto)' : ''}`).toEqual([]);
  } finally {
    await session.release();
  }
}

describe('gradients agree with torch autograd', () => {
  it.each(fixtures)('%s', async (stem) => {
    await checkGradients(loadGradFixture(stem));
  });
});

describe('gradients agree with torch autograd under recompute: auto', () => {
  it('has building blocks to check', () => expect(blocks.length).toBeGreaterThanOrEqual(10));
  it.each(blocks)('%s', async (stem) => {
    await checkGradients(loadGradFixture(stem), 'auto');
  });
});
