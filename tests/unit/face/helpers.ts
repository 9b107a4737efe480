// Fixture access and file builders for the face-step tests.
import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createRgbaImage, type RgbaImage } from '../../../src/face/image';

const IMAGES = fileURLToPath(new URL('../../fixtures/images/', import.meta.url));

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(IMAGES + name));
}

/** A TIFF block holding only IFD0 with an Orientation entry (plus one unrelated entry before it). */
export function tiffWithOrientation(orientation: number, littleEndian: boolean): Uint8Array {
  const b = new Uint8Array(8 + 2 + 2 * 12 + 4);
  const v = new DataView(b.buffer);
  b.set(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d], 0);
  v.setUint16(2, 42, littleEndian);
  v.setUint32(4, 8, littleEndian);
  v.setUint16(8, 2, littleEndian);
  // ImageWidth (0x0100, LONG) first, so the reader must walk entries rather than read the first
  v.setUint16(10, 0x0100, littleEndian);
  v.setUint16(12, 4, littleEndian);
  v.setUint32(14, 1, littleEndian);
  v.setUint32(18, 512, littleEndian);
  v.setUint16(22, 0x0112, littleEndian);
  v.setUint16(24, 3, littleEndian);
  v.setUint32(26, 1, littleEndian);
  v.setUint16(30, orientation, littleEndian);
  v.setUint32(34, 0, littleEndian); // no next IFD
  return b;
}

/** A complete APP1 segment (FF E1, length, "Exif\0\0", TIFF). */
export function exifApp1(orientation: number, littleEndian = false): Uint8Array {
  const tiff = tiffWithOrientation(orientation, littleEndian);
  const payloadLength = 6 + tiff.length;
  const seg = new Uint8Array(4 + payloadLength);
  seg.set([0xff, 0xe1, (payloadLength + 2) >> 8, (payloadLength + 2) & 0xff], 0);
  seg.set([0x45, 0x78, 0x69, 0x66, 0, 0], 4);
  seg.set(tiff, 10);
  return seg;
}

/** The JPEG with `segment` inserted right after SOI and its JFIF APP0 (where cameras put EXIF). */
export function insertAfterApp0(jpeg: Uint8Array, segment: Uint8Array): Uint8Array {
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + ((jpeg[4] << 8) | jpeg[5]);
  const out = new Uint8Array(jpeg.length + segment.length);
  out.set(jpeg.subarray(0, at), 0);
  out.set(segment, at);
  out.set(jpeg.subarray(at), at + segment.length);
  return out;
}

/** Byte offset of the first JPEG marker `marker` (walking segments, before SOS). */
export function findJpegSegment(jpeg: Uint8Array, marker: number): number {
  let pos = 2;
  while (pos + 4 <= jpeg.length) {
    if (jpeg[pos] !== 0xff) throw new Error(`no marker at ${pos}`);
    if (jpeg[pos + 1] === marker) return pos;
    if (jpeg[pos + 1] === 0xda) break;
    pos += 2 + ((jpeg[pos + 2] << 8) | jpeg[pos + 3]);
  }
  throw new Error(`marker ${marker.toString(16)} not found`);
}

/** An image whose every pixel is distinct, so any misplaced pixel shows. */
export function numberedImage(width: number, height: number): RgbaImage {
  const img = createRgbaImage(width, height);
  for (let i = 0; i < width * height; i++) img.data.set([i & 255, (i >> 8) & 255, 7, 255], i * 4);
  return img;
}

export function pixel(img: RgbaImage, x: number, y: number): number[] {
  const p = (y * img.width + x) * 4;
  return [...img.data.subarray(p, p + 4)];
}

export function meanAbsDiff(a: RgbaImage, b: RgbaImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

/**
 * Pixel-exact comparison. vitest's deep equality walks typed arrays element by element (seconds
 * per megabyte), so compare bytes directly and report the first difference.
 */
export function expectSameImage(actual: RgbaImage, expected: RgbaImage): void {
  expect({ width: actual.width, height: actual.height }).toEqual({ width: expected.width, height: expected.height });
  const a = Buffer.from(actual.data.buffer, actual.data.byteOffset, actual.data.byteLength);
  const b = Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength);
  if (!a.equals(b)) {
    let i = 0;
    while (a[i] === b[i]) i++;
    const p = i >> 2;
    expect.fail(`pixels differ first at (${p % actual.width}, ${Math.floor(p / actual.width)}) channel ${i & 3}: ${a[i]} vs ${b[i]}`);
  }
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * A PNG written byte by byte (pngjs's writer only takes 8-bit RGBA input): `rows` are the raw
 * scanlines without filter bytes; `extra` chunks (e.g. PLTE) go before IDAT.
 */
export function handMadePng(width: number, height: number, colorType: number, bitDepth: number, rows: Uint8Array[], extra: { type: string; data: Uint8Array }[] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([bitDepth, colorType, 0, 0, 0], 8);
  const raw = new Uint8Array(rows.reduce((n, r) => n + 1 + r.length, 0));
  let at = 0;
  for (const r of rows) { raw[at++] = 0; raw.set(r, at); at += r.length; }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...extra.map((c) => pngChunk(c.type, c.data)),
    pngChunk('IDAT', new Uint8Array(deflateSync(raw))),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A simple-format WebP (one 'VP8 ' chunk) rewrapped as extended format with an EXIF chunk. */
export function webpWithExif(simple: Uint8Array, exifTiff: Uint8Array, width: number, height: number): Uint8Array {
  const ascii = (s: string) => new TextEncoder().encode(s);
  if (new TextDecoder().decode(simple.subarray(12, 16)) !== 'VP8 ') throw new Error('expected a simple lossy WebP');
  const vp8 = simple.subarray(12); // the VP8 chunk with its header
  const vp8x = new Uint8Array(18);
  vp8x.set(ascii('VP8X'), 0);
  new DataView(vp8x.buffer).setUint32(4, 10, true);
  vp8x[8] = 0x08; // EXIF present
  vp8x.set([(width - 1) & 255, ((width - 1) >> 8) & 255, (width - 1) >> 16, (height - 1) & 255, ((height - 1) >> 8) & 255, (height - 1) >> 16], 12);
  const exifLen = exifTiff.length;
  const exif = new Uint8Array(8 + exifLen + (exifLen & 1));
  exif.set(ascii('EXIF'), 0);
  new DataView(exif.buffer).setUint32(4, exifLen, true);
  exif.set(exifTiff, 8);
  const body = 4 + vp8x.length + vp8.length + exif.length;
  const out = new Uint8Array(8 + body);
  out.set(ascii('RIFF'), 0);
  new DataView(out.buffer).setUint32(4, body, true);
  out.set(ascii('WEBP'), 8);
  out.set(vp8x, 12);
  out.set(vp8, 12 + vp8x.length);
  out.set(exif, 12 + vp8x.length + vp8.length);
  return out;
}

/** True when every chunk's CRC matches its type and data (checked with zlib's own CRC-32). */
export function pngChunkCrcsValid(png: Uint8Array): boolean {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let pos = 8; pos + 12 <= png.length;) {
    const length = v.getUint32(pos);
    if (crc32(png.subarray(pos + 4, pos + 8 + length)) !== v.getUint32(pos + 8 + length)) return false;
    pos += 12 + length;
  }
  return true;
}
