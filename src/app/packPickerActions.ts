// The pack picker's side of things: what a load would download (checked against Cache Storage
// file by file, from this page, without waking the worker), switching packs, and emptying the
// cache. The worker owns the download itself.
import { CacheStoragePackCache, clearPackCacheStorage } from '../packs/cache';
import { planPackDownload, type PackDownloadPlan } from '../packs/plan';
import { loadPackEntry } from './actions';
import type { PackIndexEntry } from './packIndex';
import { savePackChoice } from './packChoice';
import { packOriginAllowed, rememberPackOrigin } from '../security/csp';
import { useAppStore } from './store';
import { formatMegabytes } from './statusText';

export async function planDownload(manifestUrl: string): Promise<PackDownloadPlan> {
  if (import.meta.env.PROD && !packOriginAllowed(localStorage, manifestUrl, location.origin)) {
    // the page's Content-Security-Policy would block the fetch (src/security/csp.ts)
    throw new Error(`${new URL(manifestUrl).origin} is a new pack server: Load pack allows it and reloads the page`);
  }
  const cache = await CacheStoragePackCache.open().catch(() => undefined);
  return planPackDownload(manifestUrl, cache);
}

/** "Cached", "Download 9.6 MB", or "Download 2.1 MB (resumes: 4.2 MB saved)". */
export function planText(plan: PackDownloadPlan): string {
  if (plan.downloadBytes === 0) return 'Cached';
  const saved = plan.files.reduce((a, f) => a + f.savedBytes, 0);
  const tail = saved > 0 ? ` (resumes: ${formatMegabytes(saved)} MB saved)` : '';
  return `Download ${formatMegabytes(plan.downloadBytes)} MB${tail}`;
}

/** Loads another pack into the worker and remembers it for the next visit. */
export async function switchPack(entry: PackIndexEntry): Promise<boolean> {
  const s = useAppStore.getState();
  if (s.task || s.pack.phase === 'loading' || s.pack.phase === 'listing') return false;
  savePackChoice({ manifestUrl: entry.manifestUrl, id: entry.id, name: entry.name });
  // a pack server this page's Content-Security-Policy does not allow yet: the reloaded page's
  // policy does, and it starts with the choice just saved
  if (import.meta.env.PROD && rememberPackOrigin(localStorage, entry.manifestUrl, location.origin)) {
    location.reload();
    return false;
  }
  s.setError(null);
  return loadPackEntry(entry);
}

/** A pack typed as a URL: its id and name come from the manifest once it loads. */
export function entryForUrl(text: string): PackIndexEntry | string {
  let url: URL;
  try {
    url = new URL(text.trim(), location.href);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (!/^https?:$/.test(url.protocol)) return 'The pack URL must start with http:// or https://';
  if (!url.pathname.endsWith('.json')) url = new URL('manifest.json', url.href.endsWith('/') ? url : `${url.href}/`);
  return { id: 'custom', manifestUrl: url.href };
}

export async function deleteCachedModels(): Promise<string> {
  const { bytes, entries } = await clearPackCacheStorage();
  return entries === 0 ? 'Nothing was cached' : `Deleted ${formatMegabytes(bytes)} MB`;
}

/** The origin's storage use, as the browser reports it, when it does. */
export async function storageUsageText(): Promise<string | undefined> {
  if (!navigator.storage?.estimate) return undefined;
  try {
    const { usage, quota } = await navigator.storage.estimate();
    if (usage === undefined) return undefined;
    return `Storage used: ${formatMegabytes(usage)} MB${quota ? ` of ${formatMegabytes(quota)} MB` : ''}`;
  } catch {
    return undefined;
  }
}
