// A small reader for the one EXIF field we need: Orientation (tag 0x0112 in IFD0). Browsers
// apply it when decoding; in Node we read it here and rotate the pixels ourselves.

export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const TYPE_SHORT = 3;
const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"

export function hasExifHeader(bytes: Uint8Array, at: number): boolean {
  if (at + EXIF_HEADER.length > bytes.length) return false;
  return EXIF_HEADER.every((b, i) => bytes[at + i] === b);
}

/**
 * Orientation from a TIFF structure (the payload of a JPEG APP1 after "Exif\0\0", a PNG eXIf
 * chunk or a WebP EXIF chunk). Anything malformed or absent reads as 1: a broken EXIF block
 * must not stop a photo from loading, browsers ignore it too.
 */
export function readTiffOrientation(tiff: Uint8Array): Orientation {
  if (tiff.length < 8) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = view.getUint16(0, false);
  if (order !== 0x4949 && order !== 0x4d4d) return 1; // "II" little endian, "MM" big endian
  const le = order === 0x4949;
  if (view.getUint16(2, le) !== 42) return 1;
  const ifd = view.getUint32(4, le);
  if (ifd < 8 || ifd + 2 > tiff.length) return 1;
  const count = view.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, le) !== ORIENTATION_TAG) continue;
    if (view.getUint16(entry + 2, le) !== TYPE_SHORT || view.getUint32(entry + 4, le) < 1) return 1;
    const value = view.getUint16(entry + 8, le); // a single SHORT sits left-justified in the value field
    return value >= 1 && value <= 8 ? (value as Orientation) : 1;
  }
  return 1;
}

/** Orientation from an APP1 segment's payload (the bytes after its length field). */
export function readApp1Orientation(payload: Uint8Array): Orientation | undefined {
  if (!hasExifHeader(payload, 0)) return undefined; // an XMP APP1, not EXIF
  return readTiffOrientation(payload.subarray(EXIF_HEADER.length));
}

/** Orientations 5–8 swap width and height. */
export const swapsAxes = (o: Orientation): boolean => o >= 5;
