// The gallery's newest images, kept in IndexedDB so a reload shows what the person made. Its own
// database (not the personalizations'), so neither schema's upgrades can block the other. Only
// the newest GALLERY_KEEP images are kept: the PNGs are small, but an unbounded pile is not.
import { requestResult, sharedDatabase, transactionDone } from './idb';

export const GALLERY_KEEP = 12;

export interface StoredGalleryImage {
  v: 1;
  key: string;
  /** ms since the epoch, plus the position in its batch: orders the gallery newest first */
  createdAt: number;
  png: Blob;
  prompt: string;
  label: string | null;
  /** the name and record id of the personalization that made it */
  personalization: string | null;
  personalizationId: string | null;
  seed: number;
  width: number;
  height: number;
  fileName: string;
  truncatedNote: string | null;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const textOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** A stored value back into a gallery image, or undefined when it is damaged (it is then dropped). */
export function readStoredImage(raw: unknown): StoredGalleryImage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.v !== 1 || !isText(r.key) || typeof r.createdAt !== 'number' || !(r.png instanceof Blob) || r.png.size === 0) return undefined;
  if (!isText(r.prompt) || !isText(r.fileName) || typeof r.seed !== 'number' || !isCount(r.width) || !isCount(r.height)) return undefined;
  if (!textOrNull(r.label) || !textOrNull(r.personalization) || !textOrNull(r.personalizationId) || !textOrNull(r.truncatedNote)) return undefined;
  return r as unknown as StoredGalleryImage;
}

/** Newest first, and the keys beyond the newest `keep` (to delete). */
export function splitKept<T extends { key: string; createdAt: number }>(items: readonly T[], keep = GALLERY_KEEP): { kept: T[]; dropped: string[] } {
  const sorted = [...items].sort((a, b) => b.createdAt - a.createdAt);
  return { kept: sorted.slice(0, keep), dropped: sorted.slice(keep).map((i) => i.key) };
}

const DB_NAME = 'hyperbooth-gallery';
const STORE = 'images';

const openDb = sharedDatabase(DB_NAME, 1, (db) => {
  if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: 'key' });
});

/** The kept images, newest first; damaged ones and any beyond the cap are deleted. */
export async function loadGalleryImages(): Promise<StoredGalleryImage[]> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  const store = tx.objectStore(STORE);
  const raws = await requestResult(store.getAll());
  const good: StoredGalleryImage[] = [];
  for (const raw of raws) {
    const image = readStoredImage(raw);
    if (image) good.push(image);
    else if (raw && typeof raw === 'object' && typeof (raw as { key?: unknown }).key === 'string') store.delete((raw as { key: string }).key);
  }
  const { kept, dropped } = splitKept(good);
  for (const key of dropped) store.delete(key);
  await transactionDone(tx);
  return kept;
}

/** Adds a batch and trims the store to the newest GALLERY_KEEP, in one transaction. */
export async function addGalleryImages(images: readonly StoredGalleryImage[]): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  const store = tx.objectStore(STORE);
  for (const image of images) store.put(image);
  const all = (await requestResult(store.getAll())) as StoredGalleryImage[];
  for (const key of splitKept(all).dropped) store.delete(key);
  await transactionDone(tx);
}

export async function clearGalleryImages(): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).clear();
  await transactionDone(tx);
}
