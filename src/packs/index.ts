// Browser-safe pack API (src/packs/node.ts adds the Node-only disk loader).
export * from './manifest';
export * from './types';
export * from './cache';
export { loadPack, readManifest, DEFAULT_PART_BYTES, type LoadPackOptions } from './loadPack';
export { planPackDownload, type PackDownloadPlan, type PackFilePlan } from './plan';
export { PackFileError } from './verify';
export { sha256Hex } from './sha256';
