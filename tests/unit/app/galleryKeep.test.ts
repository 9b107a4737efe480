import { describe, expect, test } from 'vitest';
import { GALLERY_KEEP, readStoredImage, splitKept, type StoredGalleryImage } from '../../../src/app/storage/gallery';

const image = (key: string, createdAt: number): StoredGalleryImage => ({
  v: 1,
  key,
  createdAt,
  png: new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' }),
  prompt: 'a sks face as an astronaut',
  label: null,
  personalization: 'Me',
  personalizationId: 'p-1',
  seed: 42,
  width: 64,
  height: 64,
  fileName: 'astronaut-42.png',
  truncatedNote: null,
});

describe('kept gallery images', () => {
  test('only the newest GALLERY_KEEP are kept, newest first', () => {
    const items = Array.from({ length: 15 }, (_, i) => image(`k${i}`, 1000 + i));
    const { kept, dropped } = splitKept(items);
    expect(kept).toHaveLength(GALLERY_KEEP);
    expect(kept[0].key).toBe('k14');
    expect(kept.at(-1)!.key).toBe('k3');
    expect(dropped.sort()).toEqual(['k0', 'k1', 'k2']);
  });

  test('a batch stored with fractional times keeps its order', () => {
    const { kept } = splitKept([image('b', 2000 - 1 / 3), image('a', 2000), image('c', 2000 - 2 / 3)]);
    expect(kept.map((k) => k.key)).toEqual(['a', 'b', 'c']);
  });

  test('a damaged stored value is refused', () => {
    expect(readStoredImage(image('ok', 1))).toBeDefined();
    expect(readStoredImage({ ...image('x', 1), png: new Blob([]) })).toBeUndefined();
    expect(readStoredImage({ ...image('x', 1), width: 0 })).toBeUndefined();
    expect(readStoredImage({ ...image('x', 1), v: 2 })).toBeUndefined();
    expect(readStoredImage({ ...image('x', 1), label: 3 })).toBeUndefined();
    expect(readStoredImage(null)).toBeUndefined();
  });
});
