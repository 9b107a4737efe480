// The conversion's buffer pool (src/checkpoint/bufferPool.ts) and the chunk writer's "written"
// callback that feeds it: a buffer goes back only once its bytes are on disk and hashed, and
// the pool hands out the smallest that fits, makes new ones at a size class, and keeps a bounded
// number of bytes and none of the largest.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferPool } from '../../../src/checkpoint/bufferPool';
import { ChunkWriter } from '../../../src/packer/chunks';
import { folderSink } from '../../../src/packer/folderSink';
import { removeTempDirs, tempDir } from '../packer/helpers';

afterAll(removeTempDirs);

describe('BufferPool', () => {
  it('hands out the smallest released buffer that fits, else a new one', () => {
    const pool = new BufferPool();
    const [small, mid, big] = [new ArrayBuffer(100), new ArrayBuffer(1000), new ArrayBuffer(10_000)];
    for (const b of [big, small, mid]) pool.give(b);
    expect(pool.take(500)).toBe(mid);
    expect(pool.take(50)).toBe(small);
    const fresh = pool.take(20_000);
    expect([small, mid, big]).not.toContain(fresh);
    // made at its size class, so it serves the next tensors of other sizes
    expect(fresh.byteLength).toBe(64 * 2 ** 10);
    expect(pool.take(1)).toBe(big);
    expect(pool.take(3 * 2 ** 20 + 1).byteLength).toBe(4 * 2 ** 20);
    // past the largest class a buffer is made to measure (it is never kept)
    expect(pool.take(128 * 2 ** 20 + 1).byteLength).toBe(128 * 2 ** 20 + 1);
  });

  it('keeps at most 256 MiB, dropping the smallest, and never one over 128 MiB', () => {
    const pool = new BufferPool();
    const MiB = 2 ** 20;
    const bs = [16, 64, 96, 128].map((n) => new ArrayBuffer(n * MiB));
    for (const b of bs) pool.give(b);
    pool.give(new ArrayBuffer(128 * MiB + 1));
    pool.give(bs[3]);
    // 16 + 64 + 96 + 128 = 304 MiB: the 16 and then the 64 MiB ones go, 224 MiB stay
    expect([pool.take(1), pool.take(1)]).toEqual([bs[2], bs[3]]);
    expect(bs).not.toContain(pool.take(1));
  });
});

describe('ChunkWriter: written()', () => {
  it('is called once a tensor is written and hashed, after the write finished, and the file holds its bytes', async () => {
    const dir = tempDir('written');
    const w = new ChunkWriter(folderSink(dir), 'unet', 1 << 20);
    const calls: string[] = [];
    const a = new Uint8Array(1000).fill(7);
    const b = new Uint8Array(3000).fill(9);
    await w.add('a', a, () => calls.push('a'));
    await w.add('b', b, () => { calls.push('b'); b.fill(0); });
    // a's write had to finish before b's began; b's finishes by finish()
    expect(calls).toEqual(['a']);
    const [file] = await w.finish();
    expect(calls).toEqual(['a', 'b']);
    const bytes = readFileSync(join(dir, file.path));
    expect(bytes.length).toBe(1024 + 3000);
    expect([bytes[0], bytes[999], bytes[1024], bytes[4023]]).toEqual([7, 7, 9, 9]);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
  });
});
