// DreamBooth (Ruiz et al. 2022) as a baseline: the UNet's own weights — every float initializer,
// not a LoRA — fine-tuned with Adam on the denoising loss of the one reference selfie, prompt
// "a <trigger> face", no prior-preservation images (HyperDreamBooth's comparison trains on the
// one photo too). The train graph is the pack's UNet with its weights lifted to inputs and
// differentiated by the project's autodiff, so each step feeds the current weights and gets
// their gradients; the text encoder stays frozen.
import { buildTrainingModel, withFixedDims } from '../../autodiff';
import { addNoise } from '../../diffusion/schedule';
import { SeededRandom } from '../../diffusion/random';
import { Adam } from '../../finetune/adam';
import { drawNoise, type NoiseDraw } from '../../finetune/draws';
import { openFineTuneGraphs, type FineTuneGraphs } from '../../finetune/fineTuneGraphs';
import { firstNonFinite } from '../../finetune/lidbParams';
import { denoisingTarget, latentDims, type TrainContext } from '../../finetune/trainStep';
import { encodeModel } from '../../onnx';
import { gradName, IO, TRAIN_IO } from '../../packs/graphIO';
import type { PackContents } from '../../packs/types';
import { zeroLoraFeeds } from '../../pipeline/lora';
import { encodeTokens } from '../../pipeline/textEncoder';
import { timestepTensor } from '../../pipeline/timestep';
import type { Feeds, Runtime, Session, Tensor } from '../../runtime/types';
import { liftInitializers, paramFeeds } from '../../training/lift';
import { readPackGraph } from '../../training/packGraphs';

/** The sessions a DreamBooth run needs on one pack, opened once and shared by every identity. */
export interface UnetWeightTraining {
  /** the pack's UNet weights (copies), by initializer name */
  readonly initial: Readonly<Record<string, Float32Array>>;
  readonly graphs: FineTuneGraphs;
  /** c for the fine-tune prompt with the frozen text encoder */
  context(ctx: TrainContext): Promise<Tensor>;
  /** the loss of one draw at `params` and its gradient with respect to every weight */
  lossAndGrads(params: Record<string, Float32Array>, ctx: TrainContext, c: Tensor, draw: NoiseDraw): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
  /** the same loss from the plain forward graph (no autodiff), for checks */
  forwardLoss(params: Record<string, Float32Array>, ctx: TrainContext, c: Tensor, draw: NoiseDraw): Promise<number>;
  release(): Promise<void>;
}

export async function openUnetWeightTraining(runtime: Runtime, pack: PackContents): Promise<UnetWeightTraining> {
  const { manifest } = pack;
  const graphs = openFineTuneGraphs(runtime, pack);
  const lifted = liftInitializers(withFixedDims(readPackGraph(pack, manifest.models.unet), { batch: 1 }));
  const names = Object.keys(lifted.params);
  const sessions: Session[] = [];
  const open = async (name: string, model: Parameters<typeof encodeModel>[0]) => {
    const s = await runtime.createSession({ name, model: encodeModel(model) });
    sessions.push(s);
    return s;
  };
  const train = await open('UNet weights train step', buildTrainingModel(lifted.model, {
    wrt: names, prediction: IO.unet.output, targetName: TRAIN_IO.target, lossName: TRAIN_IO.loss,
  }));
  const forward = await open('UNet (weights as inputs)', lifted.model);
  // the frozen text encoder, opened here rather than inside the first (timed) fine-tune
  await graphs.forward();
  const layers = manifest.lora.layers;
  const unetZeros = zeroLoraFeeds(layers, 'unet');

  const feeds = (params: Record<string, Float32Array>, ctx: TrainContext, c: Tensor, draw: NoiseDraw): Feeds => ({
    [IO.unet.sample]: { type: 'float32', dims: latentDims(manifest), data: addNoise(ctx.latent, draw.noise, draw.t, ctx.alphasCumprod) },
    [IO.unet.timestep]: timestepTensor(manifest.unet, draw.t, 1),
    [IO.unet.context]: c,
    ...unetZeros,
    ...paramFeeds(params, lifted.dims),
  });

  return {
    initial: lifted.params,
    graphs,
    async context(ctx) {
      const { textEncoder } = await graphs.forward();
      return encodeTokens(textEncoder, ctx.inputIds, zeroLoraFeeds(layers, 'text_encoder'));
    },
    async lossAndGrads(params, ctx, c, draw) {
      const out = await train.run({ ...feeds(params, ctx, c, draw), [TRAIN_IO.target]: { type: 'float32', dims: latentDims(manifest), data: denoisingTarget(ctx, draw) } },
        [TRAIN_IO.loss, ...names.map(gradName)]);
      const grads = Object.fromEntries(names.map((n) => [n, out[gradName(n)].data as Float32Array]));
      return { loss: (out[TRAIN_IO.loss].data as Float32Array)[0], grads };
    },
    async forwardLoss(params, ctx, c, draw) {
      const pred = (await forward.run(feeds(params, ctx, c, draw), [IO.unet.output]))[IO.unet.output].data as Float32Array;
      const target = denoisingTarget(ctx, draw);
      let sum = 0;
      for (let i = 0; i < pred.length; i++) sum += (pred[i] - target[i]) ** 2;
      return sum / pred.length;
    },
    async release() {
      await graphs.release();
      await Promise.all(sessions.splice(0).map((s) => s.release()));
    },
  };
}

export interface WeightFineTuneSettings {
  steps: number;
  learningRate: number;
  seed: number;
}

export interface WeightFineTuneOutcome {
  /** the fine-tuned UNet weights, by initializer name */
  weights: Record<string, Float32Array>;
  /** loss of every step, before its update */
  losses: number[];
  stepMs: number[];
}

/** DreamBooth on the VAE latent of one image: Adam over every UNet weight for `steps` steps. */
export async function dreamboothFineTune(training: UnetWeightTraining, latent: Float32Array, s: WeightFineTuneSettings): Promise<WeightFineTuneOutcome> {
  const ctx = training.graphs.context(latent);
  const c = await training.context(ctx);
  const weights = Object.fromEntries(Object.entries(training.initial).map(([k, v]) => [k, v.slice()]));
  const adam = new Adam(weights, { lr: s.learningRate });
  const rng = new SeededRandom(s.seed);
  const losses: number[] = [];
  const stepMs: number[] = [];
  for (let step = 1; step <= s.steps; step++) {
    const t0 = performance.now();
    const draw = drawNoise(rng, ctx.manifest.schedule.numTrainTimesteps, latent.length);
    const { loss, grads } = await training.lossAndGrads(weights, ctx, c, draw);
    if (!Number.isFinite(loss)) throw new Error(`DreamBooth: non-finite loss at step ${step} (learning rate ${s.learningRate})`);
    const bad = firstNonFinite(grads);
    if (bad) throw new Error(`DreamBooth: non-finite gradient of ${bad} at step ${step} (learning rate ${s.learningRate})`);
    adam.step(grads);
    losses.push(loss);
    stepMs.push(performance.now() - t0);
  }
  return { weights, losses, stepMs };
}
