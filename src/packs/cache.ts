// Where verified pack files are kept between loads. Keys carry the file's sha256, so a new pack
// version never reads an old file and a changed file is simply a different entry. A download in
// progress is kept as numbered parts next to the file's key, so a reload resumes it.

export interface PackCache {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** whether an entry exists, without reading its bytes */
  has(key: string): Promise<boolean>;
  /** every key held, finished files and unfinished parts alike */
  keys(): Promise<string[]>;
}

export const PACK_CACHE_NAME = 'hyperbooth-packs-v1';

/** The cache key of a pack file: its absolute URL plus its sha256. */
export function packCacheKey(absoluteUrl: string, sha256: string): string {
  const u = new URL(absoluteUrl);
  u.searchParams.set('hyperbooth-sha256', sha256);
  return u.href;
}

/**
 * The key of part `index` of an unfinished download. A query parameter, not a `#fragment`:
 * Cache Storage ignores fragments when it matches, so `key#partial` would be the file's own entry.
 */
export function partialPartKey(fileKey: string, index: number): string {
  const u = new URL(fileKey);
  u.searchParams.set('hyperbooth-part', String(index));
  return u.href;
}

/** The file key an entry belongs to: its own key, or the file's key for a part of an unfinished download. */
function fileKeyOf(key: string): string {
  const u = new URL(key);
  u.searchParams.delete('hyperbooth-part');
  return u.href;
}

/**
 * Deletes what a pack's earlier versions left in the cache: every entry under the pack's folder
 * (`baseUrl`) that belongs to none of `keep` (the file keys of the version just loaded), parts
 * of unfinished downloads included. A pack is its folder, so a pack kept in a sub-folder of
 * another pack's folder would lose its entries to the outer one's pruning: index.json lists
 * packs in sibling folders. A delete that fails is left for the next load. Returns the entries deleted.
 */
export async function pruneOldVersions(cache: PackCache, baseUrl: string, keep: ReadonlySet<string>): Promise<number> {
  let deleted = 0;
  for (const key of await cache.keys()) {
    if (!key.startsWith(baseUrl) || keep.has(fileKeyOf(key))) continue;
    try {
      await cache.delete(key);
      deleted++;
    } catch {
      // still there: the next good load tries again
    }
  }
  return deleted;
}

/** Whether a failed write means storage is full (Cache Storage and IndexedDB throw a DOMException named so). */
export function isQuotaError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, message } = e as { name?: unknown; message?: unknown };
  return name === 'QuotaExceededError' || (typeof message === 'string' && /quota/i.test(message));
}

/** Cache Storage (browser windows and workers; needs a secure context such as localhost). */
export class CacheStoragePackCache implements PackCache {
  private constructor(private readonly cache: Cache) {}

  static async open(name = PACK_CACHE_NAME): Promise<CacheStoragePackCache> {
    if (typeof caches === 'undefined') throw new Error('Cache Storage is not available here (not a secure context?)');
    return new CacheStoragePackCache(await caches.open(name));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const res = await this.cache.match(key);
    return res ? new Uint8Array(await res.arrayBuffer()) : undefined;
  }

  async has(key: string): Promise<boolean> {
    return (await this.cache.match(key)) !== undefined;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const body = new Blob([bytes as Uint8Array<ArrayBuffer>]);
    await this.cache.put(key, new Response(body, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
    }));
  }

  async delete(key: string): Promise<void> {
    await this.cache.delete(key);
  }

  async keys(): Promise<string[]> {
    return (await this.cache.keys()).map((req) => req.url);
  }
}

/**
 * Deletes every entry of the pack cache (finished files and unfinished parts) and returns the
 * bytes they held. Entries are deleted one by one rather than the whole cache, because a worker
 * may hold the cache open and would otherwise keep writing into a deleted one.
 */
export async function clearPackCacheStorage(name = PACK_CACHE_NAME): Promise<{ entries: number; bytes: number }> {
  if (typeof caches === 'undefined') return { entries: 0, bytes: 0 };
  const cache = await caches.open(name);
  let bytes = 0;
  let entries = 0;
  for (const req of await cache.keys()) {
    const res = await cache.match(req);
    const length = Number(res?.headers.get('Content-Length'));
    bytes += Number.isFinite(length) && length > 0 ? length : res ? (await res.blob()).size : 0;
    await cache.delete(req);
    entries++;
  }
  return { entries, bytes };
}

/** Process-lifetime cache (Node tools and tests). */
export class MemoryPackCache implements PackCache {
  readonly entries = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.entries.get(key);
  }

  async has(key: string): Promise<boolean> {
    return this.entries.has(key);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    // a copy: the loader reuses its buffers, and a cache must not change under its caller
    this.entries.set(key, bytes.slice());
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async keys(): Promise<string[]> {
    return [...this.entries.keys()];
  }
}
