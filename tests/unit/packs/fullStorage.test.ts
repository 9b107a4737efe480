// Loading a pack when storage is full (issue 13, item 1): against a real node:http server and a
// Cache-like store with a byte quota whose put() throws a QuotaExceededError DOMException, as
// Cache Storage does, the load finishes from memory with a warning, and a good load removes
// what the pack's earlier versions left in the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { loadPack } from '../../../src/packs/loadPack';
import { isQuotaError, packCacheKey, pruneOldVersions, type PackCache } from '../../../src/packs/cache';
import type { PackManifest } from '../../../src/packs/manifest';
import { FIXTURE_FILES, makeFixturePack, serveDir, type StaticServer } from './fixturePack';

/** A PackCache with a byte quota: a write past it throws what Cache Storage throws. */
class QuotaCache implements PackCache {
  readonly entries = new Map<string, Uint8Array>();
  putAttempts = 0;

  constructor(public quota: number) {}

  get used(): number {
    let n = 0;
    for (const b of this.entries.values()) n += b.byteLength;
    return n;
  }

  async get(key: string) {
    return this.entries.get(key)?.slice();
  }

  async has(key: string) {
    return this.entries.has(key);
  }

  async put(key: string, bytes: Uint8Array) {
    this.putAttempts++;
    const after = this.used - (this.entries.get(key)?.byteLength ?? 0) + bytes.byteLength;
    if (after > this.quota) throw new DOMException('Quota exceeded.', 'QuotaExceededError');
    this.entries.set(key, bytes.slice());
  }

  async delete(key: string) {
    this.entries.delete(key);
  }

  async keys() {
    return [...this.entries.keys()];
  }
}

const PART = 64 * 1024;
const totalBytes = Object.values(FIXTURE_FILES).reduce((a, b) => a + b, 0);
let dir: string;
let original: PackManifest;
let server: StaticServer;
/** the pack lives in a folder of the served root, beside where another pack could be */
let manifestUrl: string;
let baseUrl: string;

beforeAll(async () => {
  ({ dir, manifest: original } = await makeFixturePack());
  server = await serveDir(dirname(dir));
  baseUrl = `${server.url}${basename(dir)}/`;
  manifestUrl = `${baseUrl}manifest.json`;
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const keyOf = (m: PackManifest, path: string) => packCacheKey(`${baseUrl}${path}`, m.files.find((f) => f.path === path)!.sha256);

async function expectDiskBytes(pack: Awaited<ReturnType<typeof loadPack>>): Promise<void> {
  for (const path of Object.keys(FIXTURE_FILES)) {
    expect(Buffer.from(pack.files(path)).equals(await readFile(join(dir, path))), path).toBe(true);
  }
}

/** Writes new bytes for `path` and a manifest that lists them: the pack's next version. */
async function newVersion(path: string): Promise<PackManifest> {
  const current = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as PackManifest;
  const bytes = randomBytes(FIXTURE_FILES[path]);
  await writeFile(join(dir, path), bytes);
  const next: PackManifest = {
    ...current,
    files: current.files.map((f) => (f.path === path ? { ...f, sha256: createHash('sha256').update(bytes).digest('hex') } : f)),
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(next, null, 2));
  return next;
}

describe('a pack load when storage is full', () => {
  it('recognises what browsers throw for a full disk', () => {
    expect(isQuotaError(new DOMException('Quota exceeded.', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaError(new TypeError('Failed to fetch'))).toBe(false);
    expect(isQuotaError(undefined)).toBe(false);
  });

  it('finishes from memory with a warning when nothing fits, and stops writing after the first refusal', async () => {
    const cache = new QuotaCache(0);
    const pack = await loadPack(manifestUrl, { cache, partBytes: PART });
    await expectDiskBytes(pack);
    expect(pack.downloadedBytes).toBe(totalBytes);
    expect(pack.warnings).toEqual([
      'fixture pack could not be kept for offline use: this browser\'s storage for the site is full (QuotaExceededError: Quota exceeded). ' +
        'It is loaded from memory this time and will be downloaded again on the next visit.',
    ]);
    expect(cache.entries.size).toBe(0);
    // one refused write; pruning found nothing to free, so no retry and no further writes
    expect(cache.putAttempts).toBe(1);
  });

  it('keeps what fits, reads it from the cache next time, and a part that cannot be saved does not break the download off', async () => {
    // room for tokenizer.json and the text encoder (4000 bytes), not for the UNet's first 64 KiB part
    const cache = new QuotaCache(20_000);
    const first = await loadPack(manifestUrl, { cache, partBytes: PART });
    await expectDiskBytes(first);
    expect(first.warnings?.[0]).toMatch(/^fixture pack could not be kept for offline use: this browser's storage for the site is full/);
    expect([...cache.entries.keys()].sort()).toEqual([keyOf(original, 'text_encoder/model.onnx'), keyOf(original, 'tokenizer.json')].sort());

    const second = await loadPack(manifestUrl, { cache, partBytes: PART });
    await expectDiskBytes(second);
    expect(second.cachedBytes).toBe(4000);
    expect(second.downloadedBytes).toBe(totalBytes - 4000);
    expect(second.warnings).toHaveLength(1);
  });

  it('with room, a load has no warning', async () => {
    const cache = new QuotaCache(10 * totalBytes);
    const pack = await loadPack(manifestUrl, { cache, partBytes: PART });
    expect(pack.warnings).toBeUndefined();
    expect(cache.entries.size).toBe(Object.keys(FIXTURE_FILES).length);
  });
});

describe('old pack versions', () => {
  it('are removed after a good load; entries of other packs and of the current version stay', async () => {
    const cache = new QuotaCache(Infinity);
    await loadPack(manifestUrl, { cache, partBytes: PART });
    const v1 = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as PackManifest;
    const oldKey = keyOf(v1, 'unet/weights.pb');
    expect(cache.entries.has(oldKey)).toBe(true);
    // what another pack (a sibling folder) and an abandoned download of v1 left behind
    const otherPack = packCacheKey(`${server.url}other-pack/unet/model.onnx`, 'ab'.repeat(32));
    cache.entries.set(otherPack, new Uint8Array(10));
    const oldPart = `${keyOf(v1, 'vae_decoder/model.onnx').replace('model.onnx', 'old-name.onnx')}&hyperbooth-part=0`;
    cache.entries.set(oldPart, new Uint8Array(PART));

    const v2 = await newVersion('unet/weights.pb');
    const pack = await loadPack(manifestUrl, { cache, partBytes: PART });
    await expectDiskBytes(pack);
    expect(pack.warnings).toBeUndefined();
    expect(pack.downloadedBytes).toBe(FIXTURE_FILES['unet/weights.pb']);
    expect(cache.entries.has(oldKey)).toBe(false);
    expect(cache.entries.has(oldPart)).toBe(false);
    expect(cache.entries.has(otherPack)).toBe(true);
    expect([...cache.entries.keys()].filter((k) => k !== otherPack).sort()).toEqual(v2.files.map((f) => keyOf(v2, f.path)).sort());
  });

  it('make room when storage is full: the write is retried once after pruning, and the load has no warning', async () => {
    const v1 = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as PackManifest;
    const cache = new QuotaCache(Infinity);
    await loadPack(manifestUrl, { cache, partBytes: PART });
    // exactly full: the new version's file only fits once the old one is gone
    cache.quota = cache.used;
    const v2 = await newVersion('tokenizer.json');
    const pack = await loadPack(manifestUrl, { cache, partBytes: PART });
    await expectDiskBytes(pack);
    expect(pack.warnings).toBeUndefined();
    expect(cache.entries.has(keyOf(v1, 'tokenizer.json'))).toBe(false);
    expect(cache.entries.has(keyOf(v2, 'tokenizer.json'))).toBe(true);
    expect(cache.entries.size).toBe(Object.keys(FIXTURE_FILES).length);
  });

  it('pruneOldVersions deletes only under the pack folder and outside the kept file keys (their parts too)', async () => {
    const cache = new QuotaCache(Infinity);
    const base = 'https://packs.example/a/';
    const kept = packCacheKey(`${base}x.onnx`, '11'.repeat(32));
    const keptPart = `${kept}&hyperbooth-part=3`;
    const stale = packCacheKey(`${base}x.onnx`, '22'.repeat(32));
    const sibling = packCacheKey('https://packs.example/ab/x.onnx', '22'.repeat(32));
    for (const k of [kept, keptPart, stale, sibling]) cache.entries.set(k, new Uint8Array(1));
    expect(await pruneOldVersions(cache, base, new Set([kept]))).toBe(1);
    expect([...cache.entries.keys()]).toEqual([kept, keptPart, sibling]);
  });
});
