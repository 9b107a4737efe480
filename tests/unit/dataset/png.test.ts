import { PNG } from 'pngjs';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodePng, identitySeed, photoSeed, renderPhoto, sampleIdentity, storedZlib } from '../../../src/dataset';
import { inflateSync } from 'node:zlib';

const id = sampleIdentity(identitySeed('val', 2));
const img = renderPhoto(id, photoSeed(id.seed, 0), { size: 64 });

describe('encodePng', () => {
  it('writes RGBA and RGB PNGs that pngjs decodes to the same pixels, stored or deflated', () => {
    for (const deflate of [undefined, (b: Uint8Array) => deflateSync(b)]) {
      for (const rgb of [false, true]) {
        const png = PNG.sync.read(Buffer.from(encodePng(img, { rgb, deflate })));
        expect([png.width, png.height]).toEqual([64, 64]);
        expect(Buffer.from(png.data).equals(Buffer.from(img.data))).toBe(true);
      }
    }
  });

  it('compresses with zlib and still decodes a non-square RGBA image with transparency', () => {
    const w = 37, h = 11;
    const data = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 256;
    const png = encodePng({ width: w, height: h, data }, { deflate: (b) => deflateSync(b) });
    expect(png.length).toBeLessThan(encodePng({ width: w, height: h, data }).length + 64);
    const back = PNG.sync.read(Buffer.from(png));
    expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
  });

  it('stored zlib streams inflate back, across the 65,535-byte block limit', () => {
    const bytes = new Uint8Array(200_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    expect(Buffer.from(inflateSync(storedZlib(bytes))).equals(Buffer.from(bytes))).toBe(true);
    expect(inflateSync(storedZlib(new Uint8Array(0))).length).toBe(0);
  });
});
