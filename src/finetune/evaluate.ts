// The denoising loss measured with the pack's plain forward graphs (text encoder + UNet), not the
// train graph: mean over draws of mean((ε̂(z_t, t, c) − ε)²). The tests and the learning-rate
// sweep use it on held-out draws, and as an independent check of the train graph's loss.
import { personalSlots, type PersonalWeights } from '../lidb/personal';
import { addNoise } from '../diffusion/schedule';
import { IO } from '../packs/graphIO';
import { encodeTokens } from '../pipeline/textEncoder';
import { timestepTensor } from '../pipeline/timestep';
import type { Session } from '../runtime/types';
import type { NoiseDraw } from './draws';
import { denoisingTarget, latentDims, slotFeedsFor, type TrainContext } from './trainStep';

export interface EvalSessions {
  textEncoder: Session;
  unet: Session;
}

/** Per-draw losses (same order as `draws`). */
export async function denoisingLosses(s: EvalSessions, ctx: TrainContext, weights: PersonalWeights, draws: readonly NoiseDraw[]): Promise<number[]> {
  const { manifest, aux } = ctx;
  const dims = latentDims(manifest);
  const slots = personalSlots(weights, aux, manifest.lora.layers);
  const context = await encodeTokens(s.textEncoder, ctx.inputIds, slotFeedsFor(manifest, 'text_encoder', slots));
  const unetSlots = slotFeedsFor(manifest, 'unet', slots);
  const losses: number[] = [];
  for (const draw of draws) {
    const out = await s.unet.run({
      [IO.unet.sample]: { type: 'float32', dims, data: addNoise(ctx.latent, draw.noise, draw.t, ctx.alphasCumprod) },
      [IO.unet.timestep]: timestepTensor(manifest.unet, draw.t, 1),
      [IO.unet.context]: context,
      ...unetSlots,
    }, [IO.unet.output]);
    const pred = out[IO.unet.output].data as Float32Array;
    const target = denoisingTarget(ctx, draw);
    let sum = 0;
    for (let i = 0; i < pred.length; i++) sum += (pred[i] - target[i]) ** 2;
    losses.push(sum / pred.length);
  }
  return losses;
}

export async function denoisingLoss(s: EvalSessions, ctx: TrainContext, weights: PersonalWeights, draws: readonly NoiseDraw[]): Promise<number> {
  const losses = await denoisingLosses(s, ctx, weights, draws);
  return losses.reduce((a, b) => a + b, 0) / losses.length;
}
