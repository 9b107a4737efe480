// A small reader for the one EXIF field we need: Orientation (tag 0x0112 in IFD0). Both
// decoders rotate the pixels themselves from it (browsers differ in which formats they honour).

export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const TYPE_SHORT = 3;
const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"

export function hasExifHeader(bytes: Uint8Array, at: number): boolean {
  if (at + EXIF_HEADER.length > bytes.length) return false;
  return EXIF_HEADER.every((b, i) => bytes[at + i] === b);
}

/** Where a file's Orientation value sits, so a copy without it can be made (see withoutOrientation). */
export interface OrientationField {
  /** byte offset of the 2-byte value, from the start of the buffer searched */
  valueAt: number;
  littleEndian: boolean;
}

/**
 * Orientation from a TIFF structure (the payload of a JPEG APP1 after "Exif\0\0", a PNG eXIf
 * chunk or a WebP EXIF chunk). Anything malformed or absent reads as 1: a broken EXIF block
 * must not stop a photo from loading, browsers ignore it too.
 */
export function readTiffOrientation(tiff: Uint8Array): Orientation {
  return findTiffOrientation(tiff)?.orientation ?? 1;
}

/** The Orientation entry of IFD0 with its value's offset inside `tiff`, when valid. */
export function findTiffOrientation(tiff: Uint8Array): { orientation: Orientation; field: OrientationField } | undefined {
  if (tiff.length < 8) return undefined;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = view.getUint16(0, false);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined; // "II" little endian, "MM" big endian
  const le = order === 0x4949;
  if (view.getUint16(2, le) !== 42) return undefined;
  const ifd = view.getUint32(4, le);
  if (ifd < 8 || ifd + 2 > tiff.length) return undefined;
  const count = view.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return undefined;
    if (view.getUint16(entry, le) !== ORIENTATION_TAG) continue;
    if (view.getUint16(entry + 2, le) !== TYPE_SHORT || view.getUint32(entry + 4, le) < 1) return undefined;
    const value = view.getUint16(entry + 8, le); // a single SHORT sits left-justified in the value field
    if (value < 1 || value > 8) return undefined;
    return { orientation: value as Orientation, field: { valueAt: entry + 8, littleEndian: le } };
  }
  return undefined;
}

/** Orientation from an APP1 segment's payload (the bytes after its length field). */
export function findApp1Orientation(payload: Uint8Array): ReturnType<typeof findTiffOrientation> {
  if (!hasExifHeader(payload, 0)) return undefined; // an XMP APP1, not EXIF
  const found = findTiffOrientation(payload.subarray(EXIF_HEADER.length));
  return found && { ...found, field: { ...found.field, valueAt: found.field.valueAt + EXIF_HEADER.length } };
}

export function readApp1Orientation(payload: Uint8Array): Orientation | undefined {
  if (!hasExifHeader(payload, 0)) return undefined;
  return findApp1Orientation(payload)?.orientation ?? 1;
}
