// Reads a file's container structure before any pixel decoding: which format it is, its size,
// its EXIF orientation, and whether it is complete. Both the browser and the Node decoders
// run this first, so a renamed text file, a cut-off download or a 0×0 image gets the same
// clear error everywhere, and a decompression bomb is refused before memory is spent on it.
import { ImageDecodeError, NOT_AN_IMAGE_MESSAGE } from './errors';
import { crc32 } from './crc32';
import { findApp1Orientation, findTiffOrientation, hasExifHeader, type Orientation, type OrientationField } from './exif';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export interface ImageInfo {
  format: ImageFormat;
  /** size as stored, before the orientation is applied */
  width: number;
  height: number;
  orientation: Orientation;
  /** where the file stores its orientation (absent when it has none), for withoutOrientation() */
  orientationField?: StoredOrientation;
}

export interface StoredOrientation extends OrientationField {
  /** a PNG chunk's CRC to recompute after the value changes: over [from, to), stored at `at` */
  crc?: { from: number; to: number; at: number };
}

/** Larger photos are refused: 100 MP of RGBA is 400 MB before any resizing. */
export const MAX_IMAGE_PIXELS = 100_000_000;

export const MIME_TYPES: Record<ImageFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, at: number, len: number) => String.fromCharCode(...b.subarray(at, at + len));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  return undefined;
}

/** Names image formats people may upload that we do not take, for a more helpful message. */
function otherImageFormat(bytes: Uint8Array): string | undefined {
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'GIF';
  if (startsWith(bytes, [0x42, 0x4d])) return 'BMP';
  if (bytes.length >= 12 && ascii(bytes, 4, 4) === 'ftyp') {
    const brand = ascii(bytes, 8, 4);
    if (brand.startsWith('avi')) return 'AVIF';
    if (brand.startsWith('hei') || brand.startsWith('hev') || brand === 'mif1' || brand === 'msf1') return 'HEIC';
  }
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'TIFF';
  return undefined;
}

export function inspectImage(bytes: Uint8Array): ImageInfo {
  if (bytes.length === 0) throw new ImageDecodeError('empty-file', 'the file is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (!format) {
    const other = otherImageFormat(bytes);
    if (other) throw new ImageDecodeError('unsupported-format', `this is a ${other} image; please use a JPEG, PNG or WebP image`);
    throw new ImageDecodeError('not-an-image', NOT_AN_IMAGE_MESSAGE);
  }
  const info = format === 'jpeg' ? inspectJpeg(bytes) : format === 'png' ? inspectPng(bytes) : inspectWebp(bytes);
  if (info.width === 0 || info.height === 0) {
    throw new ImageDecodeError('zero-size', `the ${format.toUpperCase()} image is ${info.width}×${info.height} pixels: it has no pixels`);
  }
  if (info.width * info.height > MAX_IMAGE_PIXELS) {
    const mp = ((info.width * info.height) / 1e6).toFixed(0);
    throw new ImageDecodeError('too-large', `the image is ${info.width}×${info.height} (${mp} megapixels); the limit is ${MAX_IMAGE_PIXELS / 1e6} megapixels`);
  }
  return info;
}

const truncated = (format: string) =>
  new ImageDecodeError('truncated', `the ${format} file is truncated (it ends early; the upload or download may have been cut off)`);
const corrupt = (format: string, why: string) => new ImageDecodeError('corrupt', `the ${format} file is damaged: ${why}`);

function isSofMarker(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

function inspectJpeg(b: Uint8Array): ImageInfo {
  let pos = 2;
  let exif: ReturnType<typeof findTiffOrientation>;
  let size: { width: number; height: number } | undefined;
  for (;;) {
    if (pos >= b.length) throw truncated('JPEG');
    if (b[pos] !== 0xff) throw corrupt('JPEG', `expected a marker at byte ${pos}`);
    while (pos < b.length && b[pos] === 0xff) pos++; // fill bytes
    if (pos >= b.length) throw truncated('JPEG');
    const marker = b[pos++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length field
    if (marker === 0xd9) throw corrupt('JPEG', 'it ends before any image data');
    if (pos + 2 > b.length) throw truncated('JPEG');
    const length = (b[pos] << 8) | b[pos + 1];
    if (length < 2) throw corrupt('JPEG', `segment length ${length} at byte ${pos}`);
    const end = pos + length;
    if (end > b.length) throw truncated('JPEG');
    const payload = b.subarray(pos + 2, end);
    if (isSofMarker(marker)) {
      if (payload.length < 6) throw corrupt('JPEG', 'short frame header');
      size = { height: (payload[1] << 8) | payload[2], width: (payload[3] << 8) | payload[4] };
    } else if (marker === 0xe1 && !exif) {
      exif = located(findApp1Orientation(payload), pos + 2);
    } else if (marker === 0xda) {
      if (!size) throw corrupt('JPEG', 'image data comes before the frame header');
      // Entropy-coded data follows; a complete file ends with EOI (FF D9), possibly followed by
      // trailing bytes that some cameras append, so look for it anywhere after this point.
      if (lastIndexOfPair(b, 0xff, 0xd9, end) < 0) throw truncated('JPEG');
      return { format: 'jpeg', ...size, ...orientationOf(exif) };
    }
    pos = end;
  }
}

function lastIndexOfPair(b: Uint8Array, first: number, second: number, from: number): number {
  for (let i = b.length - 2; i >= from; i--) if (b[i] === first && b[i + 1] === second) return i;
  return -1;
}

function inspectPng(b: Uint8Array): ImageInfo {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 8;
  let size: { width: number; height: number } | undefined;
  let exif: ReturnType<typeof findTiffOrientation>;
  let exifChunk: StoredOrientation['crc'];
  let sawData = false;
  for (;;) {
    if (pos + 8 > b.length) throw truncated('PNG');
    const length = view.getUint32(pos);
    const type = ascii(b, pos + 4, 4);
    const dataStart = pos + 8;
    const next = dataStart + length + 4; // + CRC
    if (next > b.length) throw truncated('PNG');
    if (!size) {
      if (type !== 'IHDR' || length !== 13) throw corrupt('PNG', 'the first chunk is not a header (IHDR)');
      size = { width: view.getUint32(dataStart), height: view.getUint32(dataStart + 4) };
    } else if (type === 'IDAT') {
      sawData = true;
    } else if (type === 'eXIf' && !exif) {
      exif = tiffInChunk(b, dataStart, length);
      exifChunk = { from: pos + 4, to: dataStart + length, at: dataStart + length };
    } else if (type === 'IEND') {
      if (!sawData) throw corrupt('PNG', 'it has no image data (IDAT)');
      const o = orientationOf(exif);
      if (o.orientationField) o.orientationField.crc = exifChunk;
      return { format: 'png', ...size, ...o };
    }
    pos = next;
  }
}

function inspectWebp(b: Uint8Array): ImageInfo {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const riffEnd = 8 + view.getUint32(4, true);
  if (riffEnd > b.length) throw truncated('WebP');
  let pos = 12;
  let size: { width: number; height: number } | undefined;
  let exif: ReturnType<typeof findTiffOrientation>;
  let sawData = false;
  while (pos + 8 <= riffEnd) {
    const type = ascii(b, pos, 4);
    const length = view.getUint32(pos + 4, true);
    const dataStart = pos + 8;
    if (dataStart + length > riffEnd) throw truncated('WebP');
    const d = b.subarray(dataStart, dataStart + length);
    if (type === 'VP8X') {
      if (length < 10) throw corrupt('WebP', 'short VP8X chunk');
      size = { width: 1 + (d[4] | (d[5] << 8) | (d[6] << 16)), height: 1 + (d[7] | (d[8] << 8) | (d[9] << 16)) };
    } else if (type === 'VP8 ') {
      if (length < 10 || d[3] !== 0x9d || d[4] !== 0x01 || d[5] !== 0x2a) throw corrupt('WebP', 'bad VP8 frame header');
      size ??= { width: (d[6] | (d[7] << 8)) & 0x3fff, height: (d[8] | (d[9] << 8)) & 0x3fff };
      sawData = true;
    } else if (type === 'VP8L') {
      if (length < 5 || d[0] !== 0x2f) throw corrupt('WebP', 'bad VP8L header');
      const bits = d[1] | (d[2] << 8) | (d[3] << 16) | (d[4] << 24);
      size ??= { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
      sawData = true;
    } else if (type === 'ANMF') {
      sawData = true;
    } else if (type === 'EXIF' && !exif) {
      exif = tiffInChunk(b, dataStart, length);
    }
    pos = dataStart + length + (length & 1); // chunks are padded to an even size
  }
  if (!size || !sawData) throw truncated('WebP');
  return { format: 'webp', ...size, ...orientationOf(exif) };
}

/** A PNG eXIf / WebP EXIF chunk: bare TIFF by the specs, but some writers keep the JPEG-style "Exif\0\0". */
function tiffInChunk(b: Uint8Array, start: number, length: number): ReturnType<typeof findTiffOrientation> {
  const skip = hasExifHeader(b.subarray(start, start + length), 0) ? 6 : 0;
  return located(findTiffOrientation(b.subarray(start + skip, start + length)), start + skip);
}

/** Makes a found field's offset absolute: `base` is where the searched bytes start in the file. */
function located(found: ReturnType<typeof findTiffOrientation>, base: number): ReturnType<typeof findTiffOrientation> {
  return found && { ...found, field: { ...found.field, valueAt: found.field.valueAt + base } };
}

function orientationOf(found: ReturnType<typeof findTiffOrientation>): Pick<ImageInfo, 'orientation' | 'orientationField'> {
  return found ? { orientation: found.orientation, orientationField: { ...found.field } } : { orientation: 1 };
}

/**
 * A copy of the file whose orientation says 1 (upright), for decoders whose EXIF handling we
 * cannot rely on: Chromium rotates JPEG and PNG but ignores a WebP's EXIF orientation, so the
 * browser decoder hands the browser this copy and rotates the pixels itself, exactly as Node does.
 */
export function withoutOrientation(bytes: Uint8Array, info: ImageInfo): Uint8Array {
  const f = info.orientationField;
  if (!f || info.orientation === 1) return bytes;
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  view.setUint16(f.valueAt, 1, f.littleEndian);
  if (f.crc) view.setUint32(f.crc.at, crc32(copy.subarray(f.crc.from, f.crc.to)));
  return copy;
}
