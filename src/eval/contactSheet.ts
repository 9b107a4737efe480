// One picture per held-out identity to look at what the table measures: the reference selfie,
// then one row per method with its image in each evaluated style (the renderer's own styled
// images as the last row, the bar a perfect personalization would reach).
import type { RgbaImage } from '../face/image';

export interface SheetRow {
  images: RgbaImage[];
}

const GAP = 2;

/** Rows of equal-size images under the reference, on a white canvas with a small gap. */
export function contactSheet(reference: RgbaImage, rows: SheetRow[]): RgbaImage {
  const w = reference.width, h = reference.height;
  const cols = Math.max(1, ...rows.map((r) => r.images.length));
  const width = (cols + 1) * w + cols * GAP;
  const height = rows.length * h + (rows.length - 1) * GAP;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  const put = (img: RgbaImage, x0: number, y0: number) => {
    if (img.width !== w || img.height !== h) throw new Error(`contact sheet: image ${img.width}×${img.height}, expected ${w}×${h}`);
    for (let y = 0; y < h; y++) data.set(img.data.subarray(y * w * 4, (y + 1) * w * 4), ((y0 + y) * width + x0) * 4);
  };
  put(reference, 0, 0);
  rows.forEach((row, r) => row.images.forEach((img, c) => put(img, (c + 1) * (w + GAP), r * (h + GAP))));
  return { width, height, data };
}

/** Sheets of one width stacked top to bottom, with the same gap. */
export function stackSheets(sheets: RgbaImage[]): RgbaImage {
  if (sheets.length === 0) throw new Error('contact sheet: nothing to stack');
  const width = sheets[0].width;
  if (sheets.some((s) => s.width !== width)) throw new Error('contact sheet: stacked sheets must have one width');
  const height = sheets.reduce((a, s) => a + s.height, 0) + GAP * (sheets.length - 1);
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  let y = 0;
  for (const s of sheets) {
    data.set(s.data, y * width * 4);
    y += s.height + GAP;
  }
  return { width, height, data };
}
