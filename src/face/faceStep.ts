// The face step between decoding and the crop UI: opaque pixels, the detector's faces, and
// the first crop the person will then move and zoom.
import type { Session } from '../runtime/types';
import { detectFaces, type DetectOptions, type FaceDetection } from './blazeface';
import { DEFAULT_CROP_POLICY, initialCrop, type CropPolicy, type InitialCrop } from './crop';
import { flattenAlpha, type RgbaImage } from './image';

export interface LocatedFace extends InitialCrop {
  /** the decoded image with transparency flattened onto white: crop from this one */
  image: RgbaImage;
  detections: FaceDetection[];
}

export async function locateFace(
  detector: Session,
  decoded: RgbaImage,
  opts: { detect?: DetectOptions; policy?: CropPolicy } = {},
): Promise<LocatedFace> {
  const image = flattenAlpha(decoded);
  const detections = await detectFaces(detector, image, opts.detect);
  return { image, detections, ...initialCrop(detections, image, opts.policy ?? DEFAULT_CROP_POLICY) };
}
