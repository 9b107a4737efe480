import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPack } from '../../../src/packs/loadPack';
import { loadPackFromDisk, openPack } from '../../../src/packs/node';
import { MemoryPackCache, packCacheKey } from '../../../src/packs/cache';
import type { PackProgress } from '../../../src/packs/types';
import type { PackManifest } from '../../../src/packs/manifest';
import { FIXTURE_FILES, makeFixturePack, serveDir, type StaticServer } from './fixturePack';

const totalBytes = Object.values(FIXTURE_FILES).reduce((a, b) => a + b, 0);
let dir: string;
let manifest: PackManifest;

beforeAll(async () => {
  ({ dir, manifest } = await makeFixturePack());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadPackFromDisk', () => {
  it('reads every file of a folder and checks it', async () => {
    const pack = await loadPackFromDisk(dir);
    expect(pack.manifest.id).toBe('fixture');
    expect(pack.localBytes).toBe(totalBytes);
    expect(pack.downloadedBytes).toBe(0);
    expect(pack.files('unet/weights.pb')).toEqual(new Uint8Array(await readFile(join(dir, 'unet/weights.pb'))));
    expect(() => pack.files('nope.onnx')).toThrow(/nope\.onnx/);
  });

  it('accepts a file:// URL of the manifest', async () => {
    const pack = await openPack(pathToFileURL(join(dir, 'manifest.json')).href);
    expect(pack.localBytes).toBe(totalBytes);
  });

  it('names the corrupted file and says the sha256 does not match', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'hyperbooth-bad-pack-'));
    try {
      await cp(dir, copy, { recursive: true });
      const victim = join(copy, 'unet/model.onnx');
      const bytes = await readFile(victim);
      bytes[1234] ^= 0xff;
      await writeFile(victim, bytes);
      await expect(loadPackFromDisk(copy)).rejects.toThrow(/pack file unet\/model\.onnx: sha256 mismatch/);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('names a truncated file and gives both sizes', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'hyperbooth-short-pack-'));
    try {
      await cp(dir, copy, { recursive: true });
      await writeFile(join(copy, 'vae_decoder/model.onnx'), new Uint8Array(10));
      await expect(loadPackFromDisk(copy)).rejects.toThrow(/pack file vae_decoder\/model\.onnx: expected 2500 bytes, got 10/);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('names a missing file', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'hyperbooth-missing-pack-'));
    try {
      await cp(dir, copy, { recursive: true });
      await rm(join(copy, 'tokenizer.json'));
      await expect(loadPackFromDisk(copy)).rejects.toThrow(/pack file tokenizer\.json: cannot be read/);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});

describe('loadPack over HTTP', () => {
  let server: StaticServer;
  beforeAll(async () => {
    server = await serveDir(dir);
  });
  afterAll(async () => {
    await server.close();
  });

  it('streams every file with byte progress, then serves a second load from the cache', async () => {
    const cache = new MemoryPackCache();
    const events: PackProgress[] = [];
    server.requests.length = 0;
    const first = await loadPack(`${server.url}manifest.json`, { cache, onProgress: (p) => events.push(p) });
    expect(first.downloadedBytes).toBe(totalBytes);
    expect(first.cachedBytes).toBe(0);
    expect(first.baseUrl).toBe(server.url);
    expect(server.requests.sort()).toEqual(['manifest.json', ...Object.keys(FIXTURE_FILES)].sort());

    const unet = events.filter((e) => e.file === 'unet/model.onnx');
    expect(unet.length).toBeGreaterThan(2);
    expect(unet[0].loadedBytes).toBe(0);
    expect(unet.at(-1)!.loadedBytes).toBe(700_000);
    expect(unet.every((e) => e.totalBytes === 700_000 && !e.fromCache)).toBe(true);
    for (let i = 1; i < unet.length; i++) expect(unet[i].loadedBytes).toBeGreaterThan(unet[i - 1].loadedBytes);
    expect(Buffer.from(first.files('unet/model.onnx')).equals(await readFile(join(dir, 'unet/model.onnx')))).toBe(true);

    events.length = 0;
    server.requests.length = 0;
    const second = await loadPack(`${server.url}manifest.json`, { cache, onProgress: (p) => events.push(p) });
    expect(second.downloadedBytes).toBe(0);
    expect(second.cachedBytes).toBe(totalBytes);
    expect(server.requests).toEqual(['manifest.json']);
    expect(events.every((e) => e.fromCache && e.loadedBytes === e.totalBytes)).toBe(true);
    expect(second.files('unet/weights.pb')).toEqual(first.files('unet/weights.pb'));
  });

  it('deletes a corrupted cache entry and fetches that file again, once', async () => {
    const cache = new MemoryPackCache();
    await loadPack(`${server.url}manifest.json`, { cache });
    const file = manifest.files.find((f) => f.path === 'text_encoder/model.onnx')!;
    const key = packCacheKey(`${server.url}text_encoder/model.onnx`, file.sha256);
    const bad = new Uint8Array(cache.entries.get(key)!);
    bad[7] ^= 1;
    cache.entries.set(key, bad);

    server.requests.length = 0;
    const again = await loadPack(`${server.url}manifest.json`, { cache });
    expect(server.requests).toEqual(['manifest.json', 'text_encoder/model.onnx']);
    expect(again.downloadedBytes).toBe(3000);
    expect(again.cachedBytes).toBe(totalBytes - 3000);
    expect(again.files('text_encoder/model.onnx')).toEqual(new Uint8Array(await readFile(join(dir, 'text_encoder/model.onnx'))));
    expect(cache.entries.get(key)).toEqual(again.files('text_encoder/model.onnx'));
  });

  it('names the file whose download does not match its sha256, and caches nothing bad', async () => {
    const cache = new MemoryPackCache();
    const wrong = new Uint8Array(await readFile(join(dir, 'vae_encoder/model.onnx')));
    wrong[0] ^= 1;
    server.overrides.set('vae_encoder/model.onnx', wrong);
    try {
      await expect(loadPack(`${server.url}manifest.json`, { cache })).rejects.toThrow(
        /pack file vae_encoder\/model\.onnx: sha256 mismatch .*downloaded from http:\/\/127\.0\.0\.1/,
      );
      const sha = manifest.files.find((f) => f.path === 'vae_encoder/model.onnx')!.sha256;
      expect(cache.entries.has(packCacheKey(`${server.url}vae_encoder/model.onnx`, sha))).toBe(false);
    } finally {
      server.overrides.clear();
    }
  });

  it('names the file and the HTTP status when the server lacks it', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'hyperbooth-404-pack-'));
    const other = await serveDir(copy);
    try {
      await cp(dir, copy, { recursive: true });
      await rm(join(copy, 'unet/weights.pb'));
      await expect(loadPack(`${other.url}manifest.json`)).rejects.toThrow(/pack file unet\/weights\.pb: HTTP 404/);
    } finally {
      await other.close();
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('names the manifest when it is missing', async () => {
    await expect(loadPack(`${server.url}missing/manifest.json`)).rejects.toThrow(/pack file manifest\.json: HTTP 404/);
  });

  it('says the manifest was not found when the server answers with an HTML page', async () => {
    await expect(loadPack(`${server.url}spa/manifest.json`)).rejects.toThrow(
      /pack file manifest\.json: not found at http:\/\/127\.0\.0\.1:\d+\/spa\/manifest\.json \(the server answered with an HTML page\)/,
    );
  });

  it('uses the fetch it is given', async () => {
    const urls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    await loadPack(`${server.url}manifest.json`, { fetch: counting });
    expect(urls).toHaveLength(1 + manifest.files.length);
    expect(urls[0]).toBe(`${server.url}manifest.json`);
  });
});
