// Browser-safe pack API (src/packs/node.ts adds the Node-only disk loader).
export * from './manifest';
export * from './types';
export * from './cache';
export { loadPack, type LoadPackOptions } from './loadPack';
export { PackFileError } from './verify';
export { sha256Hex } from './sha256';
