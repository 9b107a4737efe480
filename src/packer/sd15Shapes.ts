// Stable Diffusion 1.5's three networks at a given image size, built with the project's builders
// but without weights: every parameter is an initializer with its dims and no data. The memory
// report needs only shapes and dtypes, and SD1.5's 1.07 B parameters would take 4.3 GB of RAM
// (and minutes of seeded init) to materialise.
import type { WeightSource } from '../models/layers';
import { buildClipTextModel, buildUNet, buildVaeDecoder, buildVaeEncoder, type ClipTextConfig, type UNetConfig, type VaeConfig } from '../models';
import { buildTextEncoderGradModel, buildUnetTrainModel } from '../finetune/trainGraphs';
import { onnx, type ModelProto } from '../onnx';
import { OPSET } from '../models/tinyPack';
import { chunkAttention, chunkRecomputeSegments, type AttentionChunkOptions } from './attentionChunks';
import type { PackGraphs } from './memoryReport';
import type { LoraLayer } from '../packs/manifest';
import { holdWeightsOnce } from './weightsOnce';
import { convertToFloat16 } from '../onnx/toFloat16';
import { EXTERNAL_THRESHOLD_BYTES } from './chunks';
import { float16LossScale, storeWeightsAsFp16 } from './fp16';

/** runwayml/stable-diffusion-v1-5 unet/config.json in the builder's terms */
export function sd15Unet(latentSize: number): UNetConfig {
  return {
    sampleSize: latentSize, inChannels: 4, outChannels: 4, blockOutChannels: [320, 640, 1280, 1280], layersPerBlock: 2,
    crossAttentionDim: 768, textLength: 77, attentionHeadDim: 40, attentionHeads: 8, crossAttentionLevels: [true, true, true, false],
    normGroups: 32, resnetEps: 1e-5, transformerNormEps: 1e-6, layerNormEps: 1e-5,
  };
}

/** CLIP ViT-L/14's text tower */
export const SD15_TEXT: ClipTextConfig = {
  vocabSize: 49408, maxLength: 77, hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12, eosTokenId: 49407, layerNormEps: 1e-5,
};

/** vae/config.json */
export function sd15Vae(imageSize: number): VaeConfig {
  return { imageSize, imageChannels: 3, latentChannels: 4, blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, normGroups: 32, eps: 1e-6 };
}

/** Parameters as dims-only float32 initializers. */
export const SHAPES_ONLY: WeightSource = {
  tensor: (name, dims) => onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims }),
};

/**
 * As SHAPES_ONLY, except the tensors a --fp16 pack keeps inline (under EXTERNAL_THRESHOLD_BYTES)
 * hold zeros: convertToFloat16 reads their values, and they are a few KB in all.
 */
export const SHAPES_ONLY_SMALL_ZEROS: WeightSource = {
  tensor: (name, dims) => {
    const bytes = 4 * dims.reduce((a, b) => a * b, 1);
    return onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims, ...(bytes < EXTERNAL_THRESHOLD_BYTES ? { rawData: new Uint8Array(bytes) } : {}) });
  },
};

export interface Sd15ShapeOptions {
  imageSize: number;
  /** attention whose scores (CFG batch 2) exceed this many bytes is split over query blocks */
  attention: Pick<AttentionChunkOptions, 'maxScoreBytes' | 'floatDtype'>;
  rank: number;
  /** 'auto': the train graph recomputes every Transformer/ResNet block (as hyperbooth pack --recompute); default: each attention block only */
  recompute?: 'auto';
  /**
   * the graphs as `hyperbooth pack --fp16` makes them: float16 weights (stored once), forward
   * graphs converted to float16 compute, train graphs differentiated from those with the pack's
   * loss scale; default: float32 throughout
   */
  fp16?: boolean;
}

/** The SD1.5 graphs a pack holds (forward, UNet train step, text-encoder gradient), weightless. */
export function sd15ShapeGraphs(opts: Sd15ShapeOptions): PackGraphs & { chunked: number; loraLayers: LoraLayer[] } {
  const latent = opts.imageSize / 8;
  const model = (b: { builder: { toModel(o: { opset: number }): ModelProto } }) => b.builder.toModel({ opset: OPSET });
  const build = { seed: 0, weights: opts.fp16 ? SHAPES_ONLY_SMALL_ZEROS : SHAPES_ONLY };
  const chunk = (m: ModelProto, dims: Record<string, number>) => chunkAttention(m, { ...opts.attention, ...(opts.fp16 ? { floatDtype: 'float16' as const } : {}), dims });
  // as writeUnetPart/writeTextEncoderPart/writeVaePart: store float16, compute float16
  const stored = (m: ModelProto) => (opts.fp16 ? convertToFloat16(storeWeightsAsFp16(m, EXTERNAL_THRESHOLD_BYTES).model, { keepIoTypes: true }) : m);
  const builtUnet = buildUNet(sd15Unet(latent), build);
  const builtText = buildClipTextModel(SD15_TEXT, build);
  const chunked = chunk(model(builtUnet), { batch: 2, lora_rank: opts.rank });
  const unet = stored(chunked.model);
  const textEncoder = stored(model(builtText));
  const loraLayers: LoraLayer[] = [
    ...builtUnet.slots.map((l) => ({ ...l, target: 'unet' as const })),
    ...builtText.slots.map((l) => ({ ...l, target: 'text_encoder' as const })),
  ];
  const segments = chunkRecomputeSegments(unet);
  const lossScale = opts.fp16 ? float16LossScale(4 * latent * latent) : 1;
  const scaled = lossScale > 1 ? { lossScale } : {};
  const vae = { ...build };
  return {
    unet,
    unetTrain: holdWeightsOnce(buildUnetTrainModel(unet, undefined, { convInputGradient: 'conv-transpose', ...(opts.recompute ? { recompute: opts.recompute } : segments.length ? { recompute: segments } : {}), ...scaled })).model,
    textEncoder,
    textEncoderGrad: holdWeightsOnce(buildTextEncoderGradModel(textEncoder, undefined, scaled)).model,
    vaeEncoder: stored(chunk(model(buildVaeEncoder(sd15Vae(opts.imageSize), vae)), { batch: 1 }).model),
    vaeDecoder: stored(chunk(model(buildVaeDecoder(sd15Vae(opts.imageSize), vae)), { batch: 1 }).model),
    chunked: chunked.chunked.length,
    loraLayers,
  };
}
