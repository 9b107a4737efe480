// The square crop the person confirms: a first guess from the detected face (or a
// centre-weighted guess when none was found), moves and zooms that keep it square and inside
// the image, and the crop turned into model inputs.
import { FACE_FOUND_THRESHOLD, type FaceDetection } from './blazeface';
import { createRgbaImage, resampleRegion, type RgbaImage } from './image';

/** A square in image pixels (fractional while the person drags it). */
export interface SquareCrop {
  x: number;
  y: number;
  size: number;
}

export interface InitialCrop {
  crop: SquareCrop;
  faceFound: boolean;
  /** the detection the crop was built from, when one passed the threshold */
  face?: FaceDetection;
  /** best detection score seen (0 when no candidate reached the detector's minScore) */
  bestScore: number;
}

export interface CropPolicy {
  /** crop side = this × the face box's longer side */
  faceScale: number;
  /** crop centre sits this fraction of the crop side above the face centre (room for hair) */
  faceLift: number;
  /** without a face: crop side = this × the image's short side */
  guessScale: number;
  /** without a face: crop centre at this fraction of the height (faces sit above the middle) */
  guessCentreY: number;
  threshold: number;
}

export const DEFAULT_CROP_POLICY: CropPolicy = {
  faceScale: 2.2,
  faceLift: 0.08,
  guessScale: 0.8,
  guessCentreY: 0.45,
  threshold: FACE_FOUND_THRESHOLD,
};

/** Zooming in stops at this side (or the image's short side, if that is smaller). */
export const MIN_CROP_SIZE = 32;

interface Bounds {
  width: number;
  height: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** A square of side `size` centred on (cx, cy), shrunk to fit and then slid inside the image. */
export function squareAround(cx: number, cy: number, size: number, image: Bounds): SquareCrop {
  const side = clamp(size, Math.min(MIN_CROP_SIZE, image.width, image.height), Math.min(image.width, image.height));
  return {
    x: clamp(cx - side / 2, 0, image.width - side),
    y: clamp(cy - side / 2, 0, image.height - side),
    size: side,
  };
}

export function cropAroundFace(face: FaceDetection, image: Bounds, policy: CropPolicy = DEFAULT_CROP_POLICY): SquareCrop {
  const size = policy.faceScale * Math.max(face.box.w, face.box.h);
  const cx = face.box.x + face.box.w / 2;
  const cy = face.box.y + face.box.h / 2 - policy.faceLift * size;
  return squareAround(cx, cy, size, image);
}

/** The first guess when no face was found: a large square a little above the centre. */
export function centreGuessCrop(image: Bounds, policy: CropPolicy = DEFAULT_CROP_POLICY): SquareCrop {
  const size = policy.guessScale * Math.min(image.width, image.height);
  return squareAround(image.width / 2, image.height * policy.guessCentreY, size, image);
}

/** `faces` best first, as detectFaces returns them. */
export function initialCrop(faces: readonly FaceDetection[], image: Bounds, policy: CropPolicy = DEFAULT_CROP_POLICY): InitialCrop {
  const best = faces[0];
  const bestScore = best?.score ?? 0;
  if (best && bestScore >= policy.threshold) {
    return { crop: cropAroundFace(best, image, policy), faceFound: true, face: best, bestScore };
  }
  return { crop: centreGuessCrop(image, policy), faceFound: false, bestScore };
}

/** Drags the crop by (dx, dy) image pixels; it stops at the edges. */
export function moveCrop(crop: SquareCrop, dx: number, dy: number, image: Bounds): SquareCrop {
  return squareAround(crop.x + crop.size / 2 + dx, crop.y + crop.size / 2 + dy, crop.size, image);
}

/**
 * Zooms about the crop's centre: `factor` > 1 zooms in (the square gets `factor` times
 * smaller), < 1 zooms out. The side stays within [MIN_CROP_SIZE, short side]; near an edge
 * the square slides back inside rather than leaving the image.
 */
export function zoomCrop(crop: SquareCrop, factor: number, image: Bounds): SquareCrop {
  if (!(factor > 0) || !Number.isFinite(factor)) throw new RangeError(`zoom factor must be a positive number, got ${factor}`);
  return squareAround(crop.x + crop.size / 2, crop.y + crop.size / 2, crop.size / factor, image);
}

/** The crop resampled to `size`×`size` (antialiased when shrinking). */
export function cropToSquare(image: RgbaImage, crop: SquareCrop, size: number): RgbaImage {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`output size must be a positive integer, got ${size}`);
  if (crop.x < -1e-6 || crop.y < -1e-6 || crop.x + crop.size > image.width + 1e-6 || crop.y + crop.size > image.height + 1e-6) {
    throw new RangeError(`crop ${crop.size} at (${crop.x}, ${crop.y}) is not inside the ${image.width}×${image.height} image`);
  }
  return resampleRegion(image, { x: crop.x, y: crop.y, w: crop.size, h: crop.size }, size, size);
}

/** A square image at `size`×`size`: the whole of it resampled (it is already the crop). */
export function resizeSquare(image: RgbaImage, size: number): RgbaImage {
  if (image.width !== image.height) throw new Error(`the face image must be square, got ${image.width}×${image.height}`);
  return image.width === size ? image : cropToSquare(image, { x: 0, y: 0, size: image.width }, size);
}

export type PixelNormalization = '[-1,1]' | '[0,1]' | { mean: readonly [number, number, number]; std: readonly [number, number, number] };

function meanStd(norm: PixelNormalization): { mean: readonly number[]; std: readonly number[] } {
  if (norm === '[-1,1]') return { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  if (norm === '[0,1]') return { mean: [0, 0, 0], std: [1, 1, 1] };
  if (norm.std.some((v) => !(v > 0))) throw new RangeError(`std must be positive, got ${norm.std.join(', ')}`);
  return norm;
}

/**
 * RGB planes as float32 NCHW [1, 3, S, S]. `{mean, std}` apply to values in [0, 1] (the
 * CLIP/ImageNet convention); '[-1,1]' is what the VAE encoder takes.
 */
export function toPixelValues(rgba: RgbaImage, norm: PixelNormalization): Float32Array {
  const { mean, std } = meanStd(norm);
  const plane = rgba.width * rgba.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]);
    const shift = mean[c] / std[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = rgba.data[i * 4 + c] * scale - shift;
  }
  return out;
}

/** Inverse of toPixelValues for previews and tests. */
export function fromPixelValues(values: Float32Array, size: number, norm: PixelNormalization): RgbaImage {
  const { mean, std } = meanStd(norm);
  const plane = size * size;
  if (values.length !== 3 * plane) throw new RangeError(`expected ${3 * plane} values for ${size}×${size}, got ${values.length}`);
  const img = createRgbaImage(size, size);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) img.data[i * 4 + c] = (values[c * plane + i] * std[c] + mean[c]) * 255;
    img.data[i * 4 + 3] = 255;
  }
  return img;
}
