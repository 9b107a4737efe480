// Node-side selfie decoding (tests, CLI) without native code: JPEG via jpeg-js, PNG via pngjs,
// WebP via libwebp compiled to WebAssembly (@cwasm/webp, loaded only when a WebP arrives).
// The browser decodes natively instead (decodeBrowser.ts); both check the container first
// (imageInfo.ts) and both hand back display-oriented pixels, shrunk before anything else.
import { createRequire } from 'node:module';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ImageDecodeError } from './errors';
import { createRgbaImage, orientImage, shrinkToMaxSide, type RgbaImage } from './image';
import { inspectImage, MAX_IMAGE_PIXELS } from './imageInfo';
import { DEFAULT_MAX_SIDE, type DecodedImage, type DecodeOptions } from './decodeTypes';

export function decodeImageBytes(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedImage {
  const info = inspectImage(bytes);
  let stored: RgbaImage;
  try {
    stored = info.format === 'jpeg' ? decodeJpeg(bytes) : info.format === 'png' ? decodePng(bytes) : decodeWebp(bytes);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError('corrupt', `the ${info.format.toUpperCase()} file could not be decoded: ${(e as Error).message}`);
  }
  if (stored.width !== info.width || stored.height !== info.height) {
    throw new ImageDecodeError('corrupt', `the ${info.format.toUpperCase()} header says ${info.width}×${info.height} but the pixels are ${stored.width}×${stored.height}`);
  }
  // shrink before rotating: the rotation then moves 16× fewer pixels of a 12 MP photo
  const shrunk = shrinkToMaxSide(stored, opts.maxSide ?? DEFAULT_MAX_SIDE);
  return { image: orientImage(shrunk, info.orientation), info };
}

function decodeJpeg(bytes: Uint8Array): RgbaImage {
  const d = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    // a damaged stream should fail loudly rather than yield a grey half-image
    tolerantDecoding: false,
    maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
    maxMemoryUsageInMB: 1024,
  });
  return createRgbaImage(d.width, d.height, new Uint8ClampedArray(d.data.buffer, d.data.byteOffset, d.data.length));
}

function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return createRgbaImage(png.width, png.height, new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length));
}

function decodeWebp(bytes: Uint8Array): RgbaImage {
  const webp = createRequire(import.meta.url)('@cwasm/webp') as typeof import('@cwasm/webp');
  const d = webp.decode(bytes);
  return createRgbaImage(d.width, d.height, d.data);
}
