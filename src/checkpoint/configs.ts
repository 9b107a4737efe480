// The builders' configs read from the tensors' shapes (channels, levels, layers per level,
// which levels have cross-attention, context width, vocabulary, text layers, latent channels),
// with SD1.x's fixed details: 8 UNet heads and 12 CLIP heads at any width, GroupNorm with 32
// groups (eps 1e-5 in the UNet's ResBlocks, 1e-6 in its transformers and in the VAE), LayerNorm
// eps 1e-5. A miniature with SD1.5's layout therefore converts like the real one.
import type { ClipTextConfig, UNetConfig, VaeConfig } from '../models';
import type { CheckpointTensors, TensorRef } from './components';
import { CheckpointError } from './errors';

export const SD1_UNET_HEADS = 8;
export const SD1_TEXT_HEADS = 12;
export const SD1_NORM_GROUPS = 32;

const count = (names: Iterable<string>, re: RegExp): number => {
  let n = 0;
  for (const k of names) {
    const m = re.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
};

function shapeOf(part: Map<string, TensorRef>, file: string, name: string): number[] {
  const ref = part.get(name);
  if (!ref) throw new CheckpointError('not-sd1', `${file}: no tensor for ${name}: not an SD1.x model`);
  return ref.entry.shape;
}

function check(ok: boolean, file: string, what: string): void {
  if (!ok) throw new CheckpointError('not-sd1', `${file}: ${what}: not an SD1.x model`);
}

export function unetConfig(t: CheckpointTensors, sampleSize: number, textLength: number): UNetConfig {
  const u = t.parts.unet;
  const file = t.files.unet;
  const shape = (n: string) => shapeOf(u, file, n);
  const names = [...u.keys()];
  const levels = count(names, /^down_blocks\.(\d+)\./);
  const layersPerBlock = count(names, /^down_blocks\.0\.resnets\.(\d+)\./);
  check(levels > 0 && layersPerBlock > 0, file, 'the UNet has no down blocks');
  check(count(names, /^up_blocks\.(\d+)\./) === levels, file, `the UNet has ${levels} down levels but ${count(names, /^up_blocks\.(\d+)\./)} up levels`);
  const blockOutChannels = Array.from({ length: levels }, (_, i) => shape(`down_blocks.${i}.resnets.0.conv2.weight`)[0]);
  const crossAttentionLevels = Array.from({ length: levels }, (_, i) => u.has(`down_blocks.${i}.attentions.0.proj_in.weight`));
  crossAttentionLevels.forEach((has, i) => check(u.has(`up_blocks.${levels - 1 - i}.attentions.0.proj_in.weight`) === has, file, `down level ${i} and its up level differ in cross-attention`));
  const proj = shape('mid_block.attentions.0.proj_in.weight');
  if (proj.length !== 4) {
    throw new CheckpointError('sd2', `${file}: its transformers project in with a linear layer (${JSON.stringify(proj)}), as Stable Diffusion 2.x does; SD1.x uses 1×1 convolutions. Give an SD1.5-based checkpoint.`);
  }
  check(!names.some((k) => /\.transformer_blocks\.[1-9]/.test(k)), file, 'a transformer with more than one block');
  const ch0 = shape('conv_in.weight')[0];
  check(shape('time_embedding.linear_1.weight')[0] === 4 * ch0, file, `time embedding width ${shape('time_embedding.linear_1.weight')[0]} is not 4 × ${ch0}`);
  for (const c of blockOutChannels) {
    check(c % SD1_UNET_HEADS === 0 && c % SD1_NORM_GROUPS === 0, file, `${c} channels do not split into ${SD1_UNET_HEADS} heads and ${SD1_NORM_GROUPS} groups`);
  }
  return {
    sampleSize,
    inChannels: shape('conv_in.weight')[1],
    outChannels: shape('conv_out.weight')[0],
    blockOutChannels,
    layersPerBlock,
    crossAttentionDim: shape('mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight')[1],
    textLength,
    attentionHeadDim: ch0 / SD1_UNET_HEADS,
    attentionHeads: SD1_UNET_HEADS,
    crossAttentionLevels,
    normGroups: SD1_NORM_GROUPS,
    resnetEps: 1e-5,
    transformerNormEps: 1e-6,
    layerNormEps: 1e-5,
  };
}

export function vaeConfig(t: CheckpointTensors, imageSize: number): VaeConfig {
  const v = t.parts.vae;
  const file = t.files.vae;
  const shape = (n: string) => shapeOf(v, file, n);
  const names = [...v.keys()];
  const levels = count(names, /^encoder\.down_blocks\.(\d+)\./);
  const layersPerBlock = count(names, /^encoder\.down_blocks\.0\.resnets\.(\d+)\./);
  check(levels > 0 && layersPerBlock > 0, file, 'the VAE encoder has no down blocks');
  check(count(names, /^decoder\.up_blocks\.(\d+)\./) === levels, file, 'the VAE decoder does not mirror the encoder');
  const blockOutChannels = Array.from({ length: levels }, (_, i) => shape(`encoder.down_blocks.${i}.resnets.0.conv2.weight`)[0]);
  const latentChannels = shape('decoder.conv_in.weight')[1];
  check(shape('encoder.conv_out.weight')[0] === 2 * latentChannels, file, `the VAE encoder gives ${shape('encoder.conv_out.weight')[0]} moment channels for ${latentChannels} latent channels`);
  check(v.has('quant_conv.weight') && v.has('post_quant_conv.weight'), file, 'the VAE lacks quant_conv / post_quant_conv');
  return {
    imageSize,
    imageChannels: shape('encoder.conv_in.weight')[1],
    latentChannels,
    blockOutChannels,
    layersPerBlock,
    normGroups: SD1_NORM_GROUPS,
    eps: 1e-6,
  };
}

export function textConfig(t: CheckpointTensors): ClipTextConfig {
  const p = t.parts.text_encoder;
  const file = t.files.text_encoder;
  const shape = (n: string) => shapeOf(p, file, n);
  const [vocabSize, hiddenSize] = shape('text_model.embeddings.token_embedding.weight');
  const layers = count(p.keys(), /^text_model\.encoder\.layers\.(\d+)\./);
  check(layers > 0, file, 'the text encoder has no layers');
  check(hiddenSize % SD1_TEXT_HEADS === 0, file, `text width ${hiddenSize} does not split into ${SD1_TEXT_HEADS} heads`);
  return {
    vocabSize,
    maxLength: shape('text_model.embeddings.position_embedding.weight')[0],
    hiddenSize,
    intermediateSize: shape('text_model.encoder.layers.0.mlp.fc1.weight')[0],
    layers,
    heads: SD1_TEXT_HEADS,
    // CLIP's EOS is its highest id, where the text model pools
    eosTokenId: vocabSize - 1,
    layerNormEps: 1e-5,
    // within float16's range, so the same graph packs with and without --fp16
    maskFill: -65504,
  };
}

/** Image side multiple: the VAE's factor times the UNet's downsamplings. */
export function imageSizeStep(vae: { blockOutChannels: number[] }, unet: { blockOutChannels: number[] }): { vaeScale: number; step: number } {
  const vaeScale = 2 ** (vae.blockOutChannels.length - 1);
  return { vaeScale, step: vaeScale * 2 ** (unet.blockOutChannels.length - 1) };
}
