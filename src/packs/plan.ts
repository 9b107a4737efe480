// What loading a pack will cost before it starts: per file, whether the cache already holds it
// and how much of an unfinished download is saved, so the app can say "Download 9.6 MB" or
// "Cached" without reading any cached bytes.
import { packFileUrl, type PackManifest } from './manifest';
import { packCacheKey, type PackCache } from './cache';
import { DEFAULT_PART_BYTES, readManifest, savedPartBytes } from './loadPack';

export interface PackFilePlan {
  path: string;
  size: number;
  cached: boolean;
  /** bytes already saved by an unfinished download of this file */
  savedBytes: number;
}

export interface PackDownloadPlan {
  manifest: PackManifest;
  files: PackFilePlan[];
  totalBytes: number;
  /** bytes still to fetch: the files not cached, less what their unfinished downloads saved */
  downloadBytes: number;
}

export async function planPackDownload(
  manifestUrl: string,
  cache: PackCache | undefined,
  opts: { fetch?: typeof globalThis.fetch; partBytes?: number } = {},
): Promise<PackDownloadPlan> {
  const manifest = await readManifest(manifestUrl, opts.fetch);
  const baseUrl = new URL('.', new URL(manifestUrl, globalThis.location?.href)).href;
  const files: PackFilePlan[] = [];
  for (const file of manifest.files) {
    const key = packCacheKey(packFileUrl(baseUrl, file.path), file.sha256);
    const cached = cache ? await cache.has(key) : false;
    const savedBytes = cache && !cached ? await savedPartBytes(cache, key, file, opts.partBytes ?? DEFAULT_PART_BYTES) : 0;
    files.push({ path: file.path, size: file.size, cached, savedBytes });
  }
  const totalBytes = files.reduce((a, f) => a + f.size, 0);
  const downloadBytes = files.reduce((a, f) => a + (f.cached ? 0 : f.size - f.savedBytes), 0);
  return { manifest, files, totalBytes, downloadBytes };
}
