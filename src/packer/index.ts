// hyperbooth pack: Stable Diffusion ONNX export → HyperBooth model pack (Node only).
export { packExport, DEFAULT_AUX_SEED, DEFAULT_TRAIN, DEFAULT_TRIGGER, type PackOptions, type PackResult, type PartReport, type PackConversion, type ConvertedManifest } from './pack';
export { PackInputError, type PackErrorKind } from './errors';
export { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES } from './chunks';
export { SD15_LAYER_COUNTS, checkLayerCount, hasSd15Dimensions } from './layers';
export { checkHypernet, loadHypernet } from './hypernet';
export { WEBGPU_OPS, opsLackingOnWebgpu } from './webgpuOps';
export { formatSummary } from './summary';
