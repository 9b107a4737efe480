// The WebAssembly SHA-256 the browser's import hashes pack chunks with (src/packs/sha256Wasm.ts),
// against node:crypto: lengths around the padding's edges and the 1 MiB staging area, fed in
// pieces of every size, and the JavaScript stream it falls back to.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256Stream } from '../../../src/packs/sha256Stream';
import { sha256Hasher, Sha256Wasm } from '../../../src/packs/sha256Wasm';

const bytes = (n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (Math.imul(i, 2654435761) >>> 24) ^ (i & 0xff);
  return b;
};
const LENGTHS = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 2 ** 20 - 1, 2 ** 20, 2 ** 20 + 77, 3_000_001];

describe('SHA-256 in WebAssembly', () => {
  it('compiles here (Node, like a browser worker, has WebAssembly)', () => {
    expect(sha256Hasher()).toBeInstanceOf(Sha256Wasm);
  });

  it.each(LENGTHS)('%i bytes, whole and in growing pieces, give node:crypto\'s digest', (n) => {
    const b = bytes(n);
    const want = createHash('sha256').update(b).digest('hex');
    expect(sha256Hasher().update(b).hex()).toBe(want);
    const h = sha256Hasher();
    for (let at = 0, step = 1; at < n; at += step, step = 3 * step + 1) h.update(b.subarray(at, at + step));
    expect(h.hex()).toBe(want);
    expect(new Sha256Stream().update(b).hex()).toBe(want);
  });

  it('hex() is final: asked again it answers the same, and takes no more bytes', () => {
    const h = sha256Hasher().update(bytes(100));
    const first = h.hex();
    expect(h.hex()).toBe(first);
    expect(() => h.update(bytes(1))).toThrow(/after hex/);
  });
});
