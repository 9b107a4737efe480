// The face step's browser-safe API (the worker imports this). Node-only pieces live in
// decodeNode.ts and blazefaceNode.ts and are imported by path.
export * from './errors';
export * from './exif';
export * from './image';
export * from './imageInfo';
export * from './decodeTypes';
export * from './decodeBrowser';
export * from './blazeface';
export * from './crop';
export * from './faceStep';
