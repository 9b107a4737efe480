// The crop editor's numbers: screen pixels ↔ image pixels, and a zoom slider that feels even
// (logarithmic: each notch zooms by the same factor).
import { MIN_CROP_SIZE, moveCrop, zoomCrop, type SquareCrop } from '../face/crop';

export interface ImageSize {
  width: number;
  height: number;
}

/** Largest and smallest crop side the image allows. */
export function cropSideRange(image: ImageSize): { min: number; max: number } {
  const max = Math.min(image.width, image.height);
  return { min: Math.min(MIN_CROP_SIZE, max), max };
}

/** Slider position 0 (whole short side) … 100 (closest zoom) for a crop side. */
export function zoomLevel(size: number, image: ImageSize): number {
  const { min, max } = cropSideRange(image);
  if (max <= min) return 0;
  const level = (Math.log(max / size) / Math.log(max / min)) * 100;
  return Math.min(100, Math.max(0, level));
}

export function sideForLevel(level: number, image: ImageSize): number {
  const { min, max } = cropSideRange(image);
  if (max <= min) return max;
  const t = Math.min(100, Math.max(0, level)) / 100;
  return max / (max / min) ** t;
}

/** The crop with its side set to the slider's level, zooming about its centre. */
export function cropAtLevel(crop: SquareCrop, level: number, image: ImageSize): SquareCrop {
  return zoomCrop(crop, crop.size / sideForLevel(level, image), image);
}

/** A drag of (dx, dy) screen pixels on an image shown `shownWidth` pixels wide. */
export function dragCrop(start: SquareCrop, dx: number, dy: number, shownWidth: number, image: ImageSize): SquareCrop {
  const scale = shownWidth > 0 ? image.width / shownWidth : 1;
  return moveCrop(start, dx * scale, dy * scale, image);
}

/** Wheel deltas to a zoom factor: up (negative delta) zooms in, ~10% per notch. */
export function wheelZoomFactor(deltaY: number, deltaMode = 0): number {
  const pixels = deltaMode === 1 ? deltaY * 33 : deltaMode === 2 ? deltaY * 400 : deltaY;
  const clamped = Math.max(-300, Math.min(300, pixels));
  return Math.exp(-clamped * 0.001);
}

/** Crop as percentages of the image, for positioning the overlay. */
export function cropPercent(crop: SquareCrop, image: ImageSize): { left: number; top: number; width: number; height: number } {
  return {
    left: (crop.x / image.width) * 100,
    top: (crop.y / image.height) * 100,
    width: (crop.size / image.width) * 100,
    height: (crop.size / image.height) * 100,
  };
}

export function sameCrop(a: SquareCrop, b: SquareCrop, tolerance = 0.5): boolean {
  return Math.abs(a.x - b.x) <= tolerance && Math.abs(a.y - b.y) <= tolerance && Math.abs(a.size - b.size) <= tolerance;
}
