// Resumable downloads against a real node:http server with Range support: a cut download resumes
// from its saved parts, a server that ignores Range is read from the start, and a file whose
// sha256 differs is refused and fetched again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPack } from '../../../src/packs/loadPack';
import { planPackDownload } from '../../../src/packs/plan';
import { MemoryPackCache, packCacheKey, partialPartKey } from '../../../src/packs/cache';
import type { PackManifest } from '../../../src/packs/manifest';
import { FIXTURE_FILES, makeFixturePack } from './fixturePack';
import { serveWithRange, type RangeServer } from './rangeServer';

const UNET = 'unet/model.onnx'; // 700_000 bytes
const PART = 64 * 1024;
const totalBytes = Object.values(FIXTURE_FILES).reduce((a, b) => a + b, 0);
let dir: string;
let manifest: PackManifest;
let server: RangeServer;
let unetBytes: Buffer;

beforeAll(async () => {
  ({ dir, manifest } = await makeFixturePack());
  server = await serveWithRange(dir);
  unetBytes = await readFile(join(dir, UNET));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.requests.length = 0;
  server.ignoreRange = false;
  server.hideContentRange = false;
  server.cutAfter.clear();
  server.overrides.clear();
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const unetKey = () => packCacheKey(`${server.url}${UNET}`, manifest.files.find((f) => f.path === UNET)!.sha256);
const unetRequests = () => server.requests.filter((r) => r.path === UNET);
const partKeys = (cache: MemoryPackCache) => [...cache.entries.keys()].filter((k) => k.includes('hyperbooth-part='));

describe('resumable pack download', () => {
  it('resumes a download cut by the server with a Range request from the saved bytes', async () => {
    const cache = new MemoryPackCache();
    server.cutAfter.set(UNET, 300_000);
    await expect(loadPack(`${server.url}manifest.json`, { cache, partBytes: PART })).rejects.toThrow(
      /pack file unet\/model\.onnx: download from .* broke off after \d+ bytes; 262144 bytes are saved/,
    );
    // whole parts only: 4 × 64 KiB of the 300 000 bytes that arrived
    expect(partKeys(cache)).toHaveLength(4);
    expect(cache.entries.has(unetKey())).toBe(false);

    const plan = await planPackDownload(`${server.url}manifest.json`, cache, { partBytes: PART });
    const unetPlan = plan.files.find((f) => f.path === UNET)!;
    expect(unetPlan).toMatchObject({ cached: false, savedBytes: 4 * PART });
    expect(plan.downloadBytes).toBe(totalBytes - plan.files.filter((f) => f.cached).reduce((a, f) => a + f.size, 0) - 4 * PART);

    server.requests.length = 0;
    const pack = await loadPack(`${server.url}manifest.json`, { cache, partBytes: PART });
    const [resumed] = unetRequests();
    expect(resumed).toMatchObject({ range: `bytes=${4 * PART}-`, status: 206, sentBytes: 700_000 - 4 * PART });
    expect(unetRequests()).toHaveLength(1);
    // files finished before the cut are not fetched again
    const before = Object.keys(FIXTURE_FILES).slice(0, Object.keys(FIXTURE_FILES).indexOf(UNET));
    for (const p of before) expect(server.requests.some((r) => r.path === p)).toBe(false);
    expect(sha256(pack.files(UNET))).toBe(sha256(unetBytes));
    expect(pack.downloadedBytes).toBe(totalBytes - before.reduce((a, p) => a + FIXTURE_FILES[p], 0) - 4 * PART);
    // the finished file replaces its parts
    expect(partKeys(cache)).toEqual([]);
    expect(sha256(cache.entries.get(unetKey())!)).toBe(sha256(unetBytes));
  });

  it('resumes after the client aborts the load', async () => {
    const cache = new MemoryPackCache();
    const abort = new AbortController();
    let stopAt = 0;
    await expect(
      loadPack(`${server.url}manifest.json`, {
        cache,
        partBytes: PART,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.file === UNET && p.loadedBytes >= 300_000 && !stopAt) {
            stopAt = p.loadedBytes;
            abort.abort();
          }
        },
      }),
    ).rejects.toThrow(/pack file unet\/model\.onnx: download .* broke off/);
    const saved = partKeys(cache).length * PART;
    expect(saved).toBeGreaterThanOrEqual(4 * PART);

    server.requests.length = 0;
    const pack = await loadPack(`${server.url}manifest.json`, { cache, partBytes: PART });
    expect(unetRequests()).toEqual([expect.objectContaining({ range: `bytes=${saved}-`, status: 206, sentBytes: 700_000 - saved })]);
    expect(sha256(pack.files(UNET))).toBe(sha256(unetBytes));
  });

  it('starts the file over when the server ignores Range, and still ends with the right bytes', async () => {
    const cache = new MemoryPackCache();
    server.cutAfter.set(UNET, 200_000);
    await expect(loadPack(`${server.url}manifest.json`, { cache, partBytes: PART })).rejects.toThrow(/broke off/);
    expect(partKeys(cache)).toHaveLength(3);

    server.requests.length = 0;
    server.ignoreRange = true;
    const pack = await loadPack(`${server.url}manifest.json`, { cache, partBytes: PART });
    expect(unetRequests()).toEqual([expect.objectContaining({ range: `bytes=${3 * PART}-`, status: 200, sentBytes: 700_000 })]);
    expect(sha256(pack.files(UNET))).toBe(sha256(unetBytes));
    expect(partKeys(cache)).toEqual([]);
  });

  it('resumes when the 206 answer has no readable Content-Range but the length that was asked for', async () => {
    const cache = new MemoryPackCache();
    server.cutAfter.set(UNET, 200_000);
    await expect(loadPack(`${server.url}manifest.json`, { cache, partBytes: PART })).rejects.toThrow(/broke off/);
    server.requests.length = 0;
    server.hideContentRange = true;
    const pack = await loadPack(`${server.url}manifest.json`, { cache, partBytes: PART });
    expect(unetRequests()).toEqual([expect.objectContaining({ range: `bytes=${3 * PART}-`, status: 206, sentBytes: 700_000 - 3 * PART })]);
    expect(sha256(pack.files(UNET))).toBe(sha256(unetBytes));
  });

  it('refuses a resumed file whose sha256 differs and fetches it again from the start', async () => {
    const cache = new MemoryPackCache();
    server.cutAfter.set(UNET, 150_000);
    await expect(loadPack(`${server.url}manifest.json`, { cache, partBytes: PART })).rejects.toThrow(/broke off/);
    // a saved part that went bad on disk: only the whole-file sha256 can notice
    const part0 = partialPartKey(unetKey(), 0);
    cache.entries.get(part0)![100] ^= 0xff;

    server.requests.length = 0;
    const pack = await loadPack(`${server.url}manifest.json`, { cache, partBytes: PART });
    expect(unetRequests().map((r) => [r.range, r.status, r.sentBytes])).toEqual([
      [`bytes=${2 * PART}-`, 206, 700_000 - 2 * PART],
      [undefined, 200, 700_000],
    ]);
    expect(sha256(pack.files(UNET))).toBe(sha256(unetBytes));
  });

  it('refuses a downloaded file whose sha256 differs, fetches it again, and names it when it stays wrong', async () => {
    const cache = new MemoryPackCache();
    const wrong = new Uint8Array(unetBytes);
    wrong[5] ^= 1;
    server.overrides.set(UNET, wrong);
    await expect(loadPack(`${server.url}manifest.json`, { cache, partBytes: PART })).rejects.toThrow(
      /pack file unet\/model\.onnx: sha256 mismatch .*downloaded from http:\/\/127\.0\.0\.1:\d+\/unet\/model\.onnx, twice/,
    );
    expect(unetRequests().map((r) => r.range)).toEqual([undefined, undefined]);
    expect(cache.entries.has(unetKey())).toBe(false);
    expect(partKeys(cache)).toEqual([]);
  });

  it('a wrong copy served once is refused and the second fetch is kept', async () => {
    const cache = new MemoryPackCache();
    const wrong = new Uint8Array(unetBytes);
    wrong[5] ^= 1;
    server.overrides.set(UNET, wrong);
    let served = 0;
    const once: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith(UNET) && ++served === 1) server.overrides.clear();
      return res;
    };
    const pack = await loadPack(`${server.url}manifest.json`, { cache, partBytes: PART, fetch: once });
    expect(unetRequests()).toHaveLength(2);
    expect(sha256(pack.files(UNET))).toBe(sha256(unetBytes));
    expect(sha256(cache.entries.get(unetKey())!)).toBe(sha256(unetBytes));
  });

  it('plans nothing to download once everything is cached', async () => {
    const cache = new MemoryPackCache();
    const before = await planPackDownload(`${server.url}manifest.json`, cache);
    expect(before.downloadBytes).toBe(totalBytes);
    expect(before.files.every((f) => !f.cached && f.savedBytes === 0)).toBe(true);
    await loadPack(`${server.url}manifest.json`, { cache });
    const after = await planPackDownload(`${server.url}manifest.json`, cache);
    expect(after).toMatchObject({ totalBytes, downloadBytes: 0 });
    expect(after.files.every((f) => f.cached)).toBe(true);
  });
});
