// The training graph against torch: buildTrainingModel adds the scalar loss
// mean((prediction − target)²), seeded internally; its loss and gradients must match torch's
// F.mse_loss + autograd (fixtures with an `mse` section, tools/fixtures/make_grad_fixtures.py),
// with the agreement of the oracle test (norm-wise 1e-4 relative, element-wise 1e-4·(|b| + max|b|)).
import { describe, expect, it } from 'vitest';
import { buildTrainingModel } from '../../../src/autodiff';
import { decodeModel, encodeModel } from '../../../src/onnx';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { agreement, listGradFixtures, loadGradFixture, nearZero } from './torchFixtures';

const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: 1 });
const fixtures = listGradFixtures().filter((stem) => loadGradFixture(stem).mse);

describe('training graph (MSE loss seeded internally) agrees with torch', () => {
  it('has training fixtures for the building blocks at both opsets', () => {
    for (const block of ['resnet_block2d', 'transformer2d_block', 'clip_encoder_layer', 'vit_embed_layer', 'vae_up_block']) {
      for (const opset of [14, 17]) expect(fixtures, block).toContain(`${block}.opset${opset}`);
    }
  });

  it.each(fixtures)('%s', async (stem) => {
    const f = loadGradFixture(stem);
    const mse = f.mse!;
    const model = buildTrainingModel(decodeModel(f.modelBytes), { wrt: f.wrt, prediction: f.of[0] });
    const session = await runtime.createSession({ name: `${stem} training`, model: encodeModel(model) });
    try {
      expect(session.inputNames).toContain('target');
      const out = await session.run({ ...f.inputs, target: mse.target }, ['loss', ...f.wrt.map((w) => `${w}_grad`)]);
      expect(out.loss.dims).toEqual([]);
      const failures: string[] = [];
      const loss = agreement(out.loss, mse.loss);
      if (!loss.ok) failures.push(`loss: ${loss.why}`);
      let scale = 0;
      for (const g of Object.values(mse.grads)) for (const v of g.data as Float32Array) scale = Math.max(scale, Math.abs(v));
      for (const w of f.wrt) {
        const expected = mse.grads[`${w}_grad`];
        const a = f.zeroGrads.includes(w) ? nearZero(out[`${w}_grad`], expected, scale) : agreement(out[`${w}_grad`], expected);
        if (!a.ok) failures.push(`${w}_grad: ${a.why}`);
      }
      expect(failures).toEqual([]);
    } finally {
      await session.release();
    }
  });
});
