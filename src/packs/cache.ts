// Where verified pack files are kept between loads. Keys carry the file's sha256, so a new pack
// version never reads an old file and a changed file is simply a different entry.

export interface PackCache {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

export const PACK_CACHE_NAME = 'hyperbooth-packs-v1';

/** The cache key of a pack file: its absolute URL plus its sha256. */
export function packCacheKey(absoluteUrl: string, sha256: string): string {
  const u = new URL(absoluteUrl);
  u.searchParams.set('hyperbooth-sha256', sha256);
  return u.href;
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

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const body = new Blob([bytes as Uint8Array<ArrayBuffer>]);
    await this.cache.put(key, new Response(body, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
    }));
  }

  async delete(key: string): Promise<void> {
    await this.cache.delete(key);
  }
}

/** Process-lifetime cache (Node tools and tests). */
export class MemoryPackCache implements PackCache {
  readonly entries = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.entries.get(key);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.entries.set(key, bytes);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }
}
