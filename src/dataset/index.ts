// The synthetic identity world (browser-safe; Node file I/O is in ./shardNode).
export * from './identity';
export * from './splits';
export { renderPhoto, samplePhotoParams, renderSubject, DEFAULT_IMAGE_SIZE, type PhotoParams, type RenderOptions, type Background } from './photo';
export type { Expression, Outfit } from './portrait';
export { renderStyled, STYLES, STYLE_CAPTION_PREFIX, isStyle, type Style } from './styles';
export { caption, describeSubject, datasetWords, type CaptionOptions } from './captions';
export * from './shard';
export { encodePng, storedZlib, type PngOptions, type ZlibDeflate } from './png';
