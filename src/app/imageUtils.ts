// Turning the worker's raw RGBA into something an <img> and a download link can use.

export async function rgbaToPngBlob(rgba: Uint8ClampedArray, width: number, height: number): Promise<Blob> {
  return encodePng(toImageData(rgba, width, height));
}

export function toImageData(rgba: Uint8ClampedArray, width: number, height: number): ImageData {
  if (rgba.length !== width * height * 4) {
    throw new Error(`image data has ${rgba.length} bytes, expected ${width}×${height}×4 = ${width * height * 4}`);
  }
  // ImageData refuses a view onto a SharedArrayBuffer or an offset view: copy into a plain one.
  return new ImageData(new Uint8ClampedArray(rgba), width, height);
}

/** Hands bytes to the browser as a download named `fileName`. */
export function saveBytes(bytes: Uint8Array, fileName: string, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes.slice().buffer as ArrayBuffer], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoking at once can cancel the download in some browsers; a minute is plenty.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function encodePng(pixels: ImageData): Promise<Blob> {
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(pixels.width, pixels.height);
    const ctx = canvas.getContext('2d');
    if (ctx) {
      ctx.putImageData(pixels, 0, 0);
      return canvas.convertToBlob({ type: 'image/png' });
    }
  }
  const canvas = document.createElement('canvas');
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser cannot draw on a canvas, so images cannot be shown');
  ctx.putImageData(pixels, 0, 0);
  return new Promise((ok, fail) =>
    canvas.toBlob((b) => (b ? ok(b) : fail(new Error('the browser could not encode the PNG'))), 'image/png'),
  );
}

/** A file name a person can recognise later: the start of the prompt and the seed. */
export function pngFileName(prompt: string, seed: number): string {
  const slug = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return `${slug || 'hyperbooth'}-seed${seed}.png`;
}
