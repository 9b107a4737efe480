// Fetches a pack (manifest.json, then every file it lists) with byte progress, verifies each
// file's size and sha256, and keeps verified files in a PackCache so the next load reads them
// from there. Runs unchanged in a browser worker and in Node (global fetch + WebCrypto).
import { validateManifest, type PackFile, type PackManifest } from './manifest';
import { packCacheKey, type PackCache } from './cache';
import type { LoadedPack, ProgressCallback } from './types';
import { checkFile, filesAccessor, PackFileError } from './verify';

export interface LoadPackOptions {
  /** where verified files are kept between loads; without one every load downloads everything */
  cache?: PackCache;
  onProgress?: ProgressCallback;
  fetch?: typeof globalThis.fetch;
}

export async function loadPack(manifestUrl: string, opts: LoadPackOptions = {}): Promise<LoadedPack> {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const manifestHref = new URL(manifestUrl, globalThis.location?.href).href;
  const manifest = await fetchManifest(manifestHref, doFetch);
  const baseUrl = new URL('.', manifestHref).href;

  const contents = new Map<string, Uint8Array>();
  let downloadedBytes = 0;
  let cachedBytes = 0;
  for (const file of manifest.files) {
    const url = new URL(file.path, baseUrl).href;
    const key = packCacheKey(url, file.sha256);
    const cached = await readCached(opts.cache, key, file);
    if (cached) {
      opts.onProgress?.({ file: file.path, loadedBytes: file.size, totalBytes: file.size, fromCache: true });
      contents.set(file.path, cached);
      cachedBytes += file.size;
      continue;
    }
    const bytes = await download(file, url, doFetch, opts.onProgress);
    downloadedBytes += bytes.byteLength;
    const problem = await checkFile(file, bytes);
    if (problem) throw new PackFileError(file.path, `${problem} (downloaded from ${url})`);
    await opts.cache?.put(key, bytes);
    contents.set(file.path, bytes);
  }
  return { manifest, files: filesAccessor(manifest.id, contents), baseUrl, downloadedBytes, cachedBytes, localBytes: 0 };
}

async function fetchManifest(href: string, doFetch: typeof globalThis.fetch): Promise<PackManifest> {
  let res: Response;
  try {
    // Always revalidated: a new pack version must be seen even when its files are cached.
    res = await doFetch(href, { cache: 'no-cache' });
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

/** Emit progress at most every this many bytes (and at the start and end of each file). */
const PROGRESS_STEP = 256 * 1024;

async function download(file: PackFile, url: string, doFetch: typeof globalThis.fetch, onProgress?: ProgressCallback): Promise<Uint8Array> {
  const report = (loaded: number) => onProgress?.({ file: file.path, loadedBytes: loaded, totalBytes: file.size, fromCache: false });
  let res: Response;
  try {
    res = await doFetch(url);
  } catch (e) {
    throw new PackFileError(file.path, `could not be fetched from ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new PackFileError(file.path, `HTTP ${res.status} ${res.statusText} (${url})`);
  if (isHtml(res)) throw new PackFileError(file.path, `not found at ${url} (the server answered with an HTML page)`);
  report(0);
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    report(bytes.byteLength);
    return bytes;
  }
  // The manifest size bounds the buffer; a longer body is reported instead of grown into.
  const out = new Uint8Array(file.size);
  let loaded = 0;
  let lastReported = 0;
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
      if (loaded - lastReported >= Math.max(PROGRESS_STEP, file.size / 200)) {
        lastReported = loaded;
        report(loaded);
      }
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    if (e instanceof PackFileError) throw e;
    throw new PackFileError(file.path, `download from ${url} broke off after ${loaded} bytes: ${(e as Error).message}`);
  } finally {
    reader.releaseLock();
  }
  if (lastReported !== loaded) report(loaded);
  return loaded === file.size ? out : out.subarray(0, loaded);
}
