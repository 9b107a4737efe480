// Browser-side selfie decoding (main thread or worker): the browser's own decoders, which
// honour EXIF orientation for JPEG, PNG and WebP through createImageBitmap's
// `imageOrientation: 'from-image'`, and its canvas scaler to shrink huge photos first.
import { ImageDecodeError } from './errors';
import { swapsAxes } from './exif';
import { fitWithin, orientImage, type RgbaImage } from './image';
import { inspectImage, MIME_TYPES } from './imageInfo';
import { DEFAULT_MAX_SIDE, type DecodedImage, type DecodeOptions } from './decodeTypes';

export async function decodeImageBlob(blob: Blob, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const info = inspectImage(bytes);
  let bitmap: ImageBitmap;
  try {
    // re-typed from the sniffed format: a renamed file's wrong MIME type must not matter
    bitmap = await createImageBitmap(new Blob([bytes], { type: MIME_TYPES[info.format] }), {
      imageOrientation: 'from-image',
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'default',
    });
  } catch (e) {
    throw new ImageDecodeError('corrupt', `the ${info.format.toUpperCase()} file could not be decoded: ${(e as Error).message}`);
  }
  try {
    const { width, height } = fitWithin(bitmap.width, bitmap.height, opts.maxSide ?? DEFAULT_MAX_SIDE);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new ImageDecodeError('corrupt', 'this browser gave no 2D canvas to read the image pixels');
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, width, height);
    const pixels = ctx.getImageData(0, 0, width, height).data;
    let image: RgbaImage = { width, height, data: new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, pixels.length) };
    // A browser that ignored the EXIF rotation leaves the stored axes; redo what it skipped.
    // (Mirror-only orientations 2–4 cannot be told apart this way and are left to the browser.)
    const browserIgnoredRotation =
      swapsAxes(info.orientation) && info.width !== info.height && bitmap.width === info.width && bitmap.height === info.height;
    if (browserIgnoredRotation) image = orientImage(image, info.orientation);
    return { image, info };
  } finally {
    bitmap.close();
  }
}
