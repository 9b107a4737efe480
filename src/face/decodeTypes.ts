// What both decoders (decodeNode.ts, decodeBrowser.ts) take and return.
import type { RgbaImage } from './image';
import type { ImageInfo } from './imageInfo';

export interface DecodeOptions {
  /** longest side after decoding; huge photos are shrunk before any other step */
  maxSide?: number;
}

/** Large enough for a 512 crop of a face that fills half the photo, small enough to stay fast. */
export const DEFAULT_MAX_SIDE = 1024;

export interface DecodedImage {
  /** display-oriented (EXIF applied), longest side ≤ maxSide */
  image: RgbaImage;
  /** what the file said about itself: format, stored size, orientation */
  info: ImageInfo;
}
