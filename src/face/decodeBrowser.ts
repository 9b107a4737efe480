// Browser-side selfie decoding (main thread or worker): the browser's own decoders (JPEG, PNG,
// WebP) through createImageBitmap, and its canvas scaler to shrink huge photos first.
//
// EXIF orientation: tried in this machine's Chromium, JPEG and PNG (eXIf) are rotated by the
// browser but a WebP's EXIF orientation is ignored. So the browser gets a copy of the file that
// says "upright" and we rotate the shrunk pixels ourselves, which is what decodeNode.ts does
// too: the same photo comes out the same way in every browser and in Node.
import { ImageDecodeError } from './errors';
import { fitWithin, orientImage } from './image';
import { inspectImage, MIME_TYPES, withoutOrientation } from './imageInfo';
import { DEFAULT_MAX_SIDE, type DecodedImage, type DecodeOptions } from './decodeTypes';

export async function decodeImageBlob(blob: Blob, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const info = inspectImage(bytes);
  let bitmap: ImageBitmap;
  try {
    // typed from the sniffed format: a renamed file's wrong MIME type must not matter
    const upright = new Blob([withoutOrientation(bytes, info) as Uint8Array<ArrayBuffer>], { type: MIME_TYPES[info.format] });
    bitmap = await createImageBitmap(upright, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'default' });
  } catch (e) {
    throw new ImageDecodeError('corrupt', `the ${info.format.toUpperCase()} file could not be decoded: ${(e as Error).message}`);
  }
  try {
    if (bitmap.width !== info.width || bitmap.height !== info.height) {
      throw new ImageDecodeError('corrupt', `the ${info.format.toUpperCase()} header says ${info.width}×${info.height} but the browser decoded ${bitmap.width}×${bitmap.height}`);
    }
    const { width, height } = fitWithin(bitmap.width, bitmap.height, opts.maxSide ?? DEFAULT_MAX_SIDE);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new ImageDecodeError('corrupt', 'this browser gave no 2D canvas to read the image pixels');
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, width, height);
    const pixels = ctx.getImageData(0, 0, width, height).data;
    const shrunk = { width, height, data: new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, pixels.length) };
    return { image: orientImage(shrunk, info.orientation), info };
  } finally {
    bitmap.close();
  }
}
