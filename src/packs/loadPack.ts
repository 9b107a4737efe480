// Fetches a pack (manifest.json, then every file it lists) with byte progress, verifies each
// file's size and sha256, and keeps verified files in a PackCache so the next load reads them
// from there. A file's download is saved in parts as it streams, so a load that was cut (reload,
// lost connection) resumes with an HTTP Range request. Runs unchanged in a browser worker and in
// Node (global fetch + WebCrypto).
import { packFileUrl, validateManifest, type PackFile, type PackManifest } from './manifest';
import { isQuotaError, packCacheKey, partialPartKey, pruneOldVersions, type PackCache } from './cache';
import type { LoadedPack, ProgressCallback } from './types';
import { checkFile, filesAccessor, PackFileError } from './verify';

export interface LoadPackOptions {
  /** where verified files are kept between loads; without one every load downloads everything */
  cache?: PackCache;
  onProgress?: ProgressCallback;
  fetch?: typeof globalThis.fetch;
  /** aborts the load; the parts saved so far stay in the cache for the next load */
  signal?: AbortSignal;
  /** bytes per saved part of an unfinished download (default DEFAULT_PART_BYTES) */
  partBytes?: number;
}

/** A cut download loses at most this much; each part is one cache write. */
export const DEFAULT_PART_BYTES = 2 * 1024 * 1024;

type Fetch = typeof globalThis.fetch;

export async function loadPack(manifestUrl: string, opts: LoadPackOptions = {}): Promise<LoadedPack> {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const manifestHref = new URL(manifestUrl, globalThis.location?.href).href;
  const manifest = await fetchManifest(manifestHref, doFetch, opts.signal);
  const baseUrl = new URL('.', manifestHref).href;

  const contents = new Map<string, Uint8Array>();
  let downloadedBytes = 0;
  let cachedBytes = 0;
  // every URL is checked before the first download, so a bad entry fetches nothing at all
  const urls = manifest.files.map((file) => packFileUrl(baseUrl, file.path));
  const keys = manifest.files.map((file, i) => packCacheKey(urls[i], file.sha256));
  const keep = new Set(keys);
  const writer = new CacheWriter(opts.cache, (cache) => pruneOldVersions(cache, baseUrl, keep));
  for (const [i, file] of manifest.files.entries()) {
    const url = urls[i];
    const key = keys[i];
    const cached = await readCached(opts.cache, key, file);
    if (cached) {
      opts.onProgress?.({ file: file.path, loadedBytes: file.size, totalBytes: file.size, fromCache: true });
      contents.set(file.path, cached);
      cachedBytes += file.size;
      continue;
    }
    const fetched = await fetchVerified(file, url, key, doFetch, opts, writer);
    downloadedBytes += fetched.downloaded;
    await writer.put(key, fetched.bytes);
    if (opts.cache) await deleteParts(opts.cache, key).catch(() => undefined);
    contents.set(file.path, fetched.bytes);
  }
  const pack: LoadedPack = { manifest, files: filesAccessor(manifest.id, contents), baseUrl, downloadedBytes, cachedBytes, localBytes: 0 };
  if (opts.cache) await pruneOldVersions(opts.cache, baseUrl, keep).catch(() => undefined);
  if (writer.failure) {
    pack.warnings = [`${manifest.name} could not be kept for offline use: ${writer.failure}. It is loaded from memory this time and will be downloaded again on the next visit.`];
  }
  return pack;
}

/**
 * Cache writes that never fail a load: the files are already in memory, so a full disk costs
 * only the next visit's download. The first failed write ends writing for this load (after one
 * retry when pruning old pack versions freed space) and is kept as `failure`.
 */
class CacheWriter {
  failure: string | undefined;
  private pruned = false;

  constructor(
    private readonly cache: PackCache | undefined,
    private readonly prune: (cache: PackCache) => Promise<number>,
  ) {}

  /** whether the bytes are in the cache now */
  async put(key: string, bytes: Uint8Array): Promise<boolean> {
    if (!this.cache || this.failure !== undefined) return false;
    try {
      await this.cache.put(key, bytes);
      return true;
    } catch (e) {
      if (isQuotaError(e) && !this.pruned) {
        this.pruned = true;
        if ((await this.prune(this.cache).catch(() => 0)) > 0) return this.put(key, bytes);
      }
      this.failure = storageFailure(e);
      return false;
    }
  }
}

function storageFailure(e: unknown): string {
  const { name, message } = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; message?: unknown };
  const detail = [name, message]
    .filter((x): x is string => typeof x === 'string' && x !== '' && x !== 'Error')
    .join(': ')
    .replace(/\.$/, '') || String(e);
  return isQuotaError(e) ? `this browser's storage for the site is full (${detail})` : `the browser refused to store it (${detail})`;
}

/**
 * Downloads a file (resuming saved parts) and checks it. A file that fails its check is fetched
 * once more from the start, without the saved parts, since they may be what was wrong.
 */
async function fetchVerified(
  file: PackFile,
  url: string,
  key: string,
  doFetch: Fetch,
  opts: LoadPackOptions,
  writer: CacheWriter,
): Promise<{ bytes: Uint8Array; downloaded: number }> {
  let downloaded = 0;
  let problem = '';
  for (const resume of [true, false]) {
    if (!resume && opts.cache) await deleteParts(opts.cache, key);
    const got = await download(file, url, key, doFetch, opts, writer, resume);
    downloaded += got.downloaded;
    const bad = await checkFile(file, got.bytes);
    if (!bad) return { bytes: got.bytes, downloaded };
    problem = bad;
  }
  if (opts.cache) await deleteParts(opts.cache, key);
  throw new PackFileError(file.path, `${problem} (downloaded from ${url}, twice)`);
}

async function fetchManifest(href: string, doFetch: Fetch, signal?: AbortSignal): Promise<PackManifest> {
  let res: Response;
  try {
    // Always revalidated: a new pack version must be seen even when its files are cached.
    res = await doFetch(href, { cache: 'no-cache', signal });
  } catch (e) {
    throw new PackFileError('manifest.json', `could not be fetched from ${href}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new PackFileError('manifest.json', `HTTP ${res.status} ${res.statusText} (${href})`);
  if (isHtml(res)) throw new PackFileError('manifest.json', `not found at ${href} (the server answered with an HTML page)`);
  let json: unknown;
  try {
    json = await res.json();
  } catch (e) {
    throw new PackFileError('manifest.json', `is not valid JSON: ${(e as Error).message}`);
  }
  return validateManifest(json, href);
}

/** The manifest of a pack, as loadPack reads it (for showing what a load will download). */
export function readManifest(manifestUrl: string, doFetch: Fetch = globalThis.fetch.bind(globalThis)): Promise<PackManifest> {
  return fetchManifest(new URL(manifestUrl, globalThis.location?.href).href, doFetch);
}

// Dev servers and SPA hosts answer unknown paths with index.html and status 200.
function isHtml(res: Response): boolean {
  return (res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html');
}

/** A cached copy that fails its check is deleted, so the caller fetches it again once. */
async function readCached(cache: PackCache | undefined, key: string, file: PackFile): Promise<Uint8Array | undefined> {
  if (!cache) return undefined;
  const bytes = await cache.get(key);
  if (!bytes) return undefined;
  if (await checkFile(file, bytes)) {
    await cache.delete(key);
    return undefined;
  }
  return bytes;
}

/**
 * The saved parts of an unfinished download, in order, while each is whole. Parts are written
 * only when full, so a short one means a different part size; the bytes from there on are
 * fetched again.
 */
export async function readParts(cache: PackCache, key: string, file: PackFile, partBytes: number): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for (let i = 0; (i + 1) * partBytes <= file.size; i++) {
    const part = await cache.get(partialPartKey(key, i));
    if (!part || part.byteLength !== partBytes) break;
    parts.push(part);
  }
  return parts;
}

/** Bytes of `file` already saved by an unfinished download (without reading them). */
export async function savedPartBytes(cache: PackCache, key: string, file: PackFile, partBytes = DEFAULT_PART_BYTES): Promise<number> {
  let n = 0;
  while ((n + 1) * partBytes <= file.size && (await cache.has(partialPartKey(key, n)))) n++;
  return n * partBytes;
}

async function deleteParts(cache: PackCache, key: string): Promise<void> {
  for (let i = 0; await cache.has(partialPartKey(key, i)); i++) await cache.delete(partialPartKey(key, i));
}

/** Emit progress at most every this many bytes (and at the start and end of each file). */
const PROGRESS_STEP = 256 * 1024;

/** `bytes=<from>-` → whether a 206 answer starts where it was asked to. */
function rangeStartsAt(res: Response, from: number, size: number): boolean {
  const range = res.headers.get('content-range');
  // A cross-origin server that does not expose Content-Range still sends a readable length.
  if (range === null) return Number(res.headers.get('content-length')) === size - from;
  const m = /^bytes (\d+)-/.exec(range);
  return m !== null && Number(m[1]) === from;
}

async function download(
  file: PackFile,
  url: string,
  key: string,
  doFetch: Fetch,
  opts: LoadPackOptions,
  writer: CacheWriter,
  resume: boolean,
): Promise<{ bytes: Uint8Array; downloaded: number }> {
  const { cache, onProgress, signal } = opts;
  const partBytes = opts.partBytes ?? DEFAULT_PART_BYTES;
  const report = (loaded: number) => onProgress?.({ file: file.path, loadedBytes: loaded, totalBytes: file.size, fromCache: false });

  // The manifest size bounds the buffer; a longer body is reported instead of grown into.
  const out = new Uint8Array(file.size);
  let have = 0;
  if (cache && resume) {
    for (const part of await readParts(cache, key, file, partBytes)) {
      out.set(part, have);
      have += part.byteLength;
    }
  }
  if (have === file.size) {
    report(have);
    return { bytes: out, downloaded: 0 };
  }

  let res: Response;
  try {
    res = await doFetch(url, have > 0 ? { headers: { Range: `bytes=${have}-` }, signal } : { signal });
  } catch (e) {
    throw new PackFileError(file.path, `could not be fetched from ${url}: ${(e as Error).message}`);
  }
  if (have > 0 && !(res.status === 206 && rangeStartsAt(res, have, file.size))) {
    // The server sent the whole file (it ignores Range) or a range we did not ask for: start over.
    if (res.status === 206 || res.status === 416) {
      await res.body?.cancel().catch(() => undefined);
      if (cache) await deleteParts(cache, key);
      return download(file, url, key, doFetch, opts, writer, false);
    }
    have = 0;
  }
  if (!res.ok) throw new PackFileError(file.path, `HTTP ${res.status} ${res.statusText} (${url})`);
  if (isHtml(res)) throw new PackFileError(file.path, `not found at ${url} (the server answered with an HTML page)`);
  report(have);

  const start = have;
  let loaded = have;
  let lastReported = have;
  let saved = have; // bytes from 0 that are in the cache as whole parts
  if (!res.body) {
    const rest = new Uint8Array(await res.arrayBuffer());
    if (loaded + rest.byteLength > file.size) throw new PackFileError(file.path, `expected ${file.size} bytes, the server sent more (${url})`);
    out.set(rest, loaded);
    loaded += rest.byteLength;
    report(loaded);
    return { bytes: loaded === file.size ? out : out.subarray(0, loaded), downloaded: loaded - start };
  }
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.byteLength > file.size) {
        throw new PackFileError(file.path, `expected ${file.size} bytes, the server sent more (${url})`);
      }
      out.set(value, loaded);
      loaded += value.byteLength;
      // a part that cannot be saved (storage full) stops the saving, not the download
      while (loaded - saved >= partBytes && (await writer.put(partialPartKey(key, saved / partBytes), out.subarray(saved, saved + partBytes)))) {
        saved += partBytes;
      }
      if (loaded - lastReported >= Math.max(PROGRESS_STEP, file.size / 200)) {
        lastReported = loaded;
        report(loaded);
      }
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    if (e instanceof PackFileError) throw e;
    const kept = cache && saved > 0 ? `; ${saved} bytes are saved and the next load resumes from there` : '';
    throw new PackFileError(file.path, `download from ${url} broke off after ${loaded} bytes${kept}: ${(e as Error).message}`);
  } finally {
    reader.releaseLock();
  }
  if (lastReported !== loaded) report(loaded);
  return { bytes: loaded === file.size ? out : out.subarray(0, loaded), downloaded: loaded - start };
}
