// Decoder output → displayable pixels.

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, width*height*4 */
  rgba: Uint8ClampedArray;
}

/** One planar CHW image with values in [-1, 1] (clamped first, as diffusers does) → RGBA bytes. */
export function chwToRgba(chw: Float32Array, channels: number, height: number, width: number): RgbaImage {
  const plane = width * height;
  if (chw.length !== channels * plane) throw new Error(`image has ${chw.length} values, expected ${channels}×${height}×${width}`);
  if (channels !== 3 && channels !== 1) throw new Error(`cannot show an image with ${channels} channels`);
  const rgba = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = chw[(channels === 3 ? c : 0) * plane + p];
      const clamped = v < -1 ? -1 : v > 1 ? 1 : v;
      rgba[p * 4 + c] = Math.round((clamped + 1) * 127.5);
    }
    rgba[p * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

/** RGBA bytes → planar CHW RGB in [-1, 1] (the VAE encoder's input). */
export function rgbaToChw(rgba: Uint8ClampedArray | Uint8Array, height: number, width: number): Float32Array {
  const plane = width * height;
  if (rgba.length !== plane * 4) throw new Error(`RGBA image has ${rgba.length} bytes, expected ${width}×${height}×4`);
  const chw = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) chw[c * plane + p] = rgba[p * 4 + c] / 127.5 - 1;
  }
  return chw;
}
