// The embedder's input layout: RGB planes (CHW) scaled from 0…255 to −1…1, alpha dropped.
import type { RgbaImage } from '../../face/image';

export function imageToPixels(img: RgbaImage, out = new Float32Array(3 * img.width * img.height), offset = 0): Float32Array {
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) out[offset + c * n + p] = img.data[p * 4 + c] / 127.5 - 1;
  }
  return out;
}
