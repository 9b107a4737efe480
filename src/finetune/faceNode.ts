// Node only (tests, bench, CLI): a photo file → the upright, shrunk, opaque image and the first
// square crop around its face, exactly as the worker's prepareSelfie makes them in the browser
// (src/face decoding, BlazeFace on a CPU session, initialCrop).
import { readFile } from 'node:fs/promises';
import { decodeImageBytes } from '../face/decodeNode';
import { readBlazeFaceModel } from '../face/blazefaceNode';
import { createFaceDetectorSession } from '../face/blazeface';
import { locateFace, type LocatedFace } from '../face/faceStep';
import { createNodeRuntime } from '../runtime/nodeRuntime';

export async function locateFaceInFile(path: string): Promise<LocatedFace> {
  const bytes = new Uint8Array(await readFile(path));
  const detector = await createFaceDetectorSession(createNodeRuntime({ backend: 'cpu' }), await readBlazeFaceModel());
  try {
    return await locateFace(detector, decodeImageBytes(bytes).image);
  } finally {
    await detector.release();
  }
}
