// Graph builders of the SD1.5-architecture networks and the tiny pack made from them.
export { buildTinyPack, buildTinyModels, tinyConfigs, tinyTextConfig, TINY_UNET, TINY_VAE, TINY_SEED, TINY_FILES, OPSET } from './tinyPack';
export type { TinyArchitecture } from './tinyPack';
export type { TinyModels, TinyPackOptions } from './tinyPack';
export { buildClipTextModel } from './clipTextModel';
export type { ClipTextConfig, BuildOptions, BuiltGraph } from './clipTextModel';
export { buildUNet } from './unet2dCondition';
export type { UNetConfig } from './unet2dCondition';
export { buildVaeEncoder, buildVaeDecoder } from './autoencoderKL';
export type { VaeConfig } from './autoencoderKL';
export { LORA_RANK_DIM, type LoraSlot } from './layers';
export { Prng, WeightInit } from './init';
export { promptWords, TINY_TRIGGER } from './promptWords';
export { buildHypernet, CLIP_NORMALIZE, TINY_HYPERNET } from './hypernet';
export type { HypernetConfig, BuiltHypernet } from './hypernet';
