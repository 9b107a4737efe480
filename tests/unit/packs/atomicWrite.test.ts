// Every file the tools write goes through writeFileAtomic: a write that breaks off (a crash, a
// full disk; simulated by a writer that throws part-way) leaves the previous file intact and no
// temp file behind. index.json, which the app reads at start-up, is the case that matters most.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAtomic, writeFileAtomic, type WriteBytes } from '../../../src/files/atomicWrite';
import { updatePackIndex } from '../../../src/packs/writePack';

const dir = mkdtempSync(join(tmpdir(), 'hyperbooth-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the first `n` bytes for real, then fails as a crash or a full disk would. */
function crashingAfter(n: number): WriteBytes {
  return (fd, bytes) => {
    writeSync(fd, bytes, 0, Math.min(n, bytes.byteLength));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
}

describe('updatePackIndex', () => {
  it('a crash mid-write leaves the old index.json intact and parseable, with no temp file left', () => {
    const indexPath = join(dir, 'models', 'index.json');
    updatePackIndex(indexPath, { id: 'tiny', path: 'tiny/manifest.json', name: 'Tiny', size: 100 });
    const before = readFileSync(indexPath, 'utf8');
    expect(() => updatePackIndex(indexPath, { id: 'sd15', path: 'sd15/manifest.json', name: 'SD 1.5', size: 4e9 }, { writeBytes: crashingAfter(20) }))
      .toThrow(/ENOSPC/);
    expect(readFileSync(indexPath, 'utf8')).toBe(before);
    expect(JSON.parse(before).packs.map((p: { id: string }) => p.id)).toEqual(['tiny']);
    expect(readdirSync(join(dir, 'models'))).toEqual(['index.json']);
    // and the next write goes through
    updatePackIndex(indexPath, { id: 'sd15', path: 'sd15/manifest.json', name: 'SD 1.5', size: 4e9 });
    expect(JSON.parse(readFileSync(indexPath, 'utf8')).packs.map((p: { id: string }) => p.id)).toEqual(['tiny', 'sd15']);
  });
});

describe('writeFileAtomic and openAtomic', () => {
  it('replace a file whole, creating its folder', () => {
    const path = join(dir, 'a', 'b', 'out.json');
    writeFileAtomic(path, '{"v":1}');
    writeFileAtomic(path, new TextEncoder().encode('{"v":2}'));
    expect(readFileSync(path, 'utf8')).toBe('{"v":2}');
  });

  it('a streamed file appears only on commit; abort keeps the old one', () => {
    const path = join(dir, 'stream.bin');
    writeFileSync(path, 'old');
    const f = openAtomic(path);
    f.write(new Uint8Array([1, 2, 3]));
    expect(readFileSync(path, 'utf8')).toBe('old');
    f.abort();
    expect(existsSync(f.tempPath)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('old');
    const g = openAtomic(path);
    g.write(new Uint8Array([1, 2]));
    g.write(new Uint8Array([3]));
    g.commit();
    g.abort(); // harmless after commit
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).filter((n) => n.startsWith('.stream.bin.tmp'))).toEqual([]);
  });

  it('a target that cannot be replaced (a folder) fails the rename and cleans up its temp file', () => {
    const path = join(dir, 'is-a-folder');
    writeFileAtomic(join(path, 'x'), 'x');
    expect(() => writeFileAtomic(path, 'data')).toThrow();
    expect(readdirSync(dir).filter((n) => n.startsWith('.is-a-folder.tmp'))).toEqual([]);
  });
});
