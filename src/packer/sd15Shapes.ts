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
import { holdWeightsOnce } from './weightsOnce';

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

export interface Sd15ShapeOptions {
  imageSize: number;
  /** attention whose scores (CFG batch 2) exceed this many bytes is split over query blocks */
  attention: Pick<AttentionChunkOptions, 'maxScoreBytes' | 'floatDtype'>;
  rank: number;
  /** 'auto': the train graph recomputes every Transformer/ResNet block (as hyperbooth pack --recompute); default: each attention block only */
  recompute?: 'auto';
}

/** The SD1.5 graphs a pack holds (forward, UNet train step, text-encoder gradient), weightless. */
export function sd15ShapeGraphs(opts: Sd15ShapeOptions): PackGraphs & { chunked: number } {
  const latent = opts.imageSize / 8;
  const model = (b: { builder: { toModel(o: { opset: number }): ModelProto } }) => b.builder.toModel({ opset: OPSET });
  const build = { seed: 0, weights: SHAPES_ONLY };
  const chunk = (m: ModelProto, dims: Record<string, number>) => chunkAttention(m, { ...opts.attention, dims });
  const unet = chunk(model(buildUNet(sd15Unet(latent), build)), { batch: 2, lora_rank: opts.rank });
  const textEncoder = model(buildClipTextModel(SD15_TEXT, build));
  const segments = chunkRecomputeSegments(unet.model);
  const vae = { ...build };
  return {
    unet: unet.model,
    unetTrain: holdWeightsOnce(buildUnetTrainModel(unet.model, undefined, opts.recompute ? { recompute: opts.recompute } : segments.length ? { recompute: segments } : {})).model,
    textEncoder,
    textEncoderGrad: holdWeightsOnce(buildTextEncoderGradModel(textEncoder)).model,
    vaeEncoder: chunk(model(buildVaeEncoder(sd15Vae(opts.imageSize), vae)), { batch: 1 }).model,
    vaeDecoder: chunk(model(buildVaeDecoder(sd15Vae(opts.imageSize), vae)), { batch: 1 }).model,
    chunked: unet.chunked.length,
  };
}
