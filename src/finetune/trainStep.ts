// One fine-tune step on the pack's train graphs: noise the latent at t, encode the prompt with
// the current text-encoder slots, run the UNet train step (loss, ∂loss/∂UNet slots, ∂loss/∂c),
// pull ∂loss/∂c back through the text encoder's VJP graph (∂loss/∂text-encoder slots), and map
// every slot gradient to the LiDB's D_train / U_train through the frozen aux bases.
import { addNoise, velocity } from '../diffusion/schedule';
import type { AuxBases } from '../lidb/aux';
import { allSlotGradsToLidbGrads, lidbToSlots, type Lidb, type LidbGrad } from '../lidb/lidb';
import { loraInputNames, type LoraTarget, type PackManifest } from '../packs/manifest';
import { loraFeeds, zeroLoraFeeds } from '../pipeline/lora';
import { encodeTokens } from '../pipeline/textEncoder';
import { IO } from '../packs/graphIO';
import { timestepTensor } from '../pipeline/timestep';
import type { Feeds, Session, Tensor } from '../runtime/types';
import type { LoraSlots } from '../lidb/slots';
import type { NoiseDraw } from './draws';
import { gradName, TRAIN_IO } from '../packs/graphIO';

export interface TrainSessions {
  /**
   * the pack's plain text encoder: c for the current text-encoder slots. Absent when the
   * text-encoder gradient graph is there: it outputs c too, so the fine-tune holds the text
   * encoder's weights once (SD1.5 at float16: 0.23 GiB less)
   */
  textEncoder?: Session;
  /** manifest.train.unet */
  unetTrain: Session;
  /** manifest.train.textEncoder (absent when the pack has no text-encoder LoRA layers) */
  textEncoderGrad?: Session;
}

/** What stays fixed over a fine-tune: the pack, its aux bases, the prompt and the image latent. */
export interface TrainContext {
  manifest: PackManifest;
  aux: AuxBases;
  /** the tokenized prompt, [1, maxLength] */
  inputIds: Tensor;
  /** VAE mean × latent scale of the crop, [channels·h·w] */
  latent: Float32Array;
  alphasCumprod: Float64Array;
}

export interface TrainStepResult {
  loss: number;
  /** ∂loss/∂D_train and ∂loss/∂U_train of every layer */
  grads: Map<string, LidbGrad>;
}

export interface SlotStepResult {
  loss: number;
  /** ∂loss/∂down and ∂loss/∂up of every layer's slot */
  slotGrads: Map<string, SlotGrad>;
}

export interface SlotGrad {
  down: Float32Array;
  up: Float32Array;
}

export function slotFeedsFor(manifest: PackManifest, target: LoraTarget, slots: LoraSlots): Feeds {
  const layers = manifest.lora.layers;
  return loraFeeds(layers, target, zeroLoraFeeds(layers, target), slots);
}

export function latentDims(manifest: PackManifest): number[] {
  const { channels, height, width } = manifest.latent;
  return [1, channels, height, width];
}

/** The UNet's regression target for this draw: ε, or v for a v-prediction pack. */
export function denoisingTarget(ctx: TrainContext, draw: NoiseDraw): Float32Array {
  return ctx.manifest.schedule.predictionType === 'v_prediction'
    ? velocity(ctx.latent, draw.noise, draw.t, ctx.alphasCumprod)
    : draw.noise;
}

/**
 * c for the current text-encoder slots: from the plain text encoder, or else from the gradient
 * graph fed a zero seed (its backward pass then runs on zeros: the text encoder is small beside
 * the UNet, and one session instead of two holds its weights once).
 */
export async function promptContext(s: TrainSessions, ctx: TrainContext, textSlots: Feeds): Promise<Tensor> {
  if (s.textEncoder) return encodeTokens(s.textEncoder, ctx.inputIds, textSlots);
  if (!s.textEncoderGrad) throw new Error('the fine-tune has neither a text encoder nor a text-encoder gradient graph to encode the prompt');
  const { maxLength, hiddenSize } = ctx.manifest.text;
  const dims = [1, maxLength, hiddenSize];
  const out = await s.textEncoderGrad.run({
    [IO.textEncoder.input]: ctx.inputIds,
    [TRAIN_IO.textSeed]: { type: 'float32', dims, data: new Float32Array(maxLength * hiddenSize) },
    ...textSlots,
  }, [IO.textEncoder.output]);
  return out[IO.textEncoder.output];
}

/** A train step of the LiDB itself: slot gradients mapped to D_train / U_train through the aux bases. */
export async function trainStep(s: TrainSessions, ctx: TrainContext, lidb: Lidb, draw: NoiseDraw): Promise<TrainStepResult> {
  const { loss, slotGrads } = await slotTrainStep(s, ctx, lidbToSlots(lidb, ctx.aux), draw);
  return { loss, grads: allSlotGradsToLidbGrads(slotGrads, ctx.aux, lidb.rank) };
}

/** One step at the given slot values: the loss and its gradient with respect to every slot. */
export async function slotTrainStep(s: TrainSessions, ctx: TrainContext, slots: LoraSlots, draw: NoiseDraw): Promise<SlotStepResult> {
  const { manifest } = ctx;
  const layers = manifest.lora.layers;
  const dims = latentDims(manifest);
  const textSlots = slotFeedsFor(manifest, 'text_encoder', slots);
  const unetSlots = slotFeedsFor(manifest, 'unet', slots);
  const context = await promptContext(s, ctx, textSlots);

  const unetLayers = layers.filter((l) => l.target === 'unet');
  const textLayers = layers.filter((l) => l.target === 'text_encoder');
  const slotGradNames = (ls: typeof layers) => ls.flatMap((l) => { const n = loraInputNames(l.name); return [gradName(n.down), gradName(n.up)]; });

  const unetOut = await s.unetTrain.run({
    [IO.unet.sample]: { type: 'float32', dims, data: addNoise(ctx.latent, draw.noise, draw.t, ctx.alphasCumprod) },
    [IO.unet.timestep]: timestepTensor(manifest.unet, draw.t, 1),
    [IO.unet.context]: context,
    [TRAIN_IO.target]: { type: 'float32', dims, data: denoisingTarget(ctx, draw) },
    ...unetSlots,
  }, [TRAIN_IO.loss, TRAIN_IO.contextGrad, ...slotGradNames(unetLayers)]);

  if (textLayers.length > 0 && !s.textEncoderGrad) throw new Error('the pack has text-encoder LoRA layers but no text-encoder gradient graph (manifest train.textEncoder)');
  const textOut = textLayers.length === 0 ? {} : await s.textEncoderGrad!.run({
    [IO.textEncoder.input]: ctx.inputIds,
    [TRAIN_IO.textSeed]: { type: 'float32', dims: context.dims, data: unetOut[TRAIN_IO.contextGrad].data },
    ...textSlots,
  }, slotGradNames(textLayers));

  const slotGrads = new Map<string, SlotGrad>();
  for (const l of layers) {
    const out = l.target === 'unet' ? unetOut : textOut;
    const n = loraInputNames(l.name);
    slotGrads.set(l.name, { down: out[gradName(n.down)].data as Float32Array, up: out[gradName(n.up)].data as Float32Array });
  }
  return { loss: (unetOut[TRAIN_IO.loss].data as Float32Array)[0], slotGrads };
}
