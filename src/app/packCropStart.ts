// Where the crop square starts and what the crop step asks for, by the pack's `crop`: a face
// close-up around the detected face, or the whole portrait the pack was trained on.
import { squareAround, type SquareCrop } from '../face/crop';
import type { PackCrop } from '../packs/manifest';
import type { ImageSize } from './cropControls';

/**
 * `face` keeps the worker's crop around the face. `portrait` zooms all the way out (the
 * image's short side), centred on that crop, so a whole 64×64 portrait is taken as it is.
 */
export function startingCrop(mode: PackCrop, faceCrop: SquareCrop, image: ImageSize): SquareCrop {
  if (mode === 'face') return faceCrop;
  return squareAround(faceCrop.x + faceCrop.size / 2, faceCrop.y + faceCrop.size / 2, Math.min(image.width, image.height), image);
}

/** The crop step's one-line advice, matching where the square starts. */
export function cropAdvice(mode: PackCrop): string {
  return mode === 'portrait'
    ? 'This pack learned whole portraits, so the square starts on the whole picture: keep the head, hair and shoulders inside.'
    : 'Keep the whole face and a little hair inside.';
}
