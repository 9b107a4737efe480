// A small PNG encoder (8-bit RGB or RGBA, filter 0 or "Up" per row). Compression is a parameter
// so the same code runs everywhere: Node passes zlib's deflate; without one the pixels go in
// stored (uncompressed) deflate blocks, which every decoder reads.
import { crc32 } from '../face/crc32';
import type { RgbaImage } from '../face/image';

/** zlib-wrapped deflate (RFC 1950), e.g. `(b) => zlib.deflateSync(b)` in Node. */
export type ZlibDeflate = (bytes: Uint8Array) => Uint8Array;

export interface PngOptions {
  /** drop the alpha channel (the dataset's images are opaque) */
  rgb?: boolean;
  deflate?: ZlibDeflate;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; ) {
    // 5552 bytes is the longest run whose sums cannot overflow before the modulo
    const end = Math.min(bytes.length, i + 5552);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** zlib stream of stored blocks: no compression, no dependency. */
export function storedZlib(bytes: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(bytes.length / 65535));
  const out = new Uint8Array(2 + bytes.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let k = 0; k < blocks; k++) {
    const start = k * 65535;
    const len = Math.min(65535, bytes.length - start);
    out[o++] = k === blocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(bytes.subarray(start, start + len), o);
    o += len;
  }
  const ad = adler32(bytes);
  out[o++] = ad >>> 24;
  out[o++] = (ad >>> 16) & 0xff;
  out[o++] = (ad >>> 8) & 0xff;
  out[o++] = ad & 0xff;
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function encodePng(img: RgbaImage, opts: PngOptions = {}): Uint8Array {
  const { width, height, data } = img;
  const channels = opts.rgb ? 3 : 4;
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    // "Up" filtering (row minus the row above) helps deflate on smooth portraits; row 0 has nothing above
    const filter = opts.deflate && y > 0 ? 2 : 0;
    const o = y * (stride + 1);
    raw[o] = filter;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = data[4 * (y * width + x) + c];
        raw[o + 1 + x * channels + c] = filter === 2 ? (v - data[4 * ((y - 1) * width + x) + c]) & 0xff : v;
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2; // colour type RGBA | RGB
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk('IHDR', ihdr),
    chunk('IDAT', (opts.deflate ?? storedZlib)(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
