// Wires storage/gallery.ts to the store: each generated batch is kept (newest 12), the kept
// images come back on the next page load, and Clear forgets them. Keeping is best effort: when
// IndexedDB is unavailable the images still live in the tab and download as before.
import { addGalleryImages, clearGalleryImages, loadGalleryImages, type StoredGalleryImage } from './storage/gallery';
import { useAppStore, type GalleryItem } from './store';

/** A new image's PNG beside its gallery entry. */
export interface MadeImage {
  item: GalleryItem;
  png: Blob;
}

let lastCreatedAt = 0;

function toStoredImage({ item, png }: MadeImage, createdAt: number): StoredGalleryImage {
  return {
    v: 1,
    key: item.key,
    createdAt,
    png,
    prompt: item.prompt,
    label: item.label ?? null,
    personalization: item.personalization ?? null,
    personalizationId: item.personalizationId ?? null,
    seed: item.seed,
    width: item.width,
    height: item.height,
    fileName: item.fileName,
    truncatedNote: item.truncatedNote ?? null,
  };
}

function toGalleryItem(s: StoredGalleryImage): GalleryItem {
  const item: GalleryItem = { key: s.key, url: URL.createObjectURL(s.png), prompt: s.prompt, seed: s.seed, width: s.width, height: s.height, fileName: s.fileName };
  if (s.label !== null) item.label = s.label;
  if (s.personalization !== null) item.personalization = s.personalization;
  if (s.personalizationId !== null) item.personalizationId = s.personalizationId;
  if (s.truncatedNote !== null) item.truncatedNote = s.truncatedNote;
  return item;
}

/** Keeps a batch shown first-to-last as newest-to-oldest: the first image gets the latest time. */
export function keepImages(batch: readonly MadeImage[]): void {
  const base = Math.max(Date.now(), lastCreatedAt + batch.length);
  lastCreatedAt = base;
  const stored = batch.map((m, i) => toStoredImage(m, base - i / (batch.length + 1)));
  addGalleryImages(stored).catch(() => {
    // not kept across a reload; the images are still in this tab
  });
}

let restored: Promise<void> | undefined;

/** Once per page: the kept images go after anything made since the page opened. */
export function restoreGalleryOnce(): Promise<void> {
  restored ??= loadGalleryImages()
    .then((images) => {
      if (images.length === 0) return;
      lastCreatedAt = Math.max(lastCreatedAt, images[0].createdAt);
      const items = images.map(toGalleryItem);
      useAppStore.setState((s) => {
        const shown = new Set(s.gallery.map((g) => g.key));
        return { gallery: [...s.gallery, ...items.filter((i) => !shown.has(i.key))] };
      });
    })
    .catch(() => {
      // nothing kept (or IndexedDB unavailable): the gallery starts empty, as before
    });
  return restored;
}

export function clearKeptImages(): void {
  useAppStore.getState().clearGallery();
  clearGalleryImages().catch(() => {
    // nothing was kept
  });
}
