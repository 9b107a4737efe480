// Shared by the fine-tune tests: the committed tiny pack on onnxruntime-node, the astronaut's
// face crop (decoded and found with BlazeFace as the worker does), and its hypernetwork
// prediction and latent, computed once per test file.
import { fileURLToPath } from 'node:url';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { LoadedPack } from '../../../src/packs/types';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { createPersonalizer, type Personalizer } from '../../../src/finetune/personalize';
import { locateFaceInFile } from '../../../src/finetune/faceNode';
import { cropToSquare, type SquareCrop } from '../../../src/face/crop';
import type { RgbaImage } from '../../../src/face/image';
import type { Lidb } from '../../../src/lidb/lidb';

export const TINY = fileURLToPath(new URL('../../../public/models/tiny', import.meta.url));
export const ASTRONAUT = fileURLToPath(new URL('../../fixtures/images/astronaut.png', import.meta.url));

export interface Setup {
  pack: LoadedPack;
  personalizer: Personalizer;
  image: RgbaImage;
  crop: SquareCrop;
  /** the hypernetwork's rank-1 prediction for the crop */
  predicted: Lidb;
  /** VAE mean × scale of the crop */
  latent: Float32Array;
}

export async function setUp(): Promise<Setup> {
  const pack = await loadPackFromDisk(TINY);
  const personalizer = await createPersonalizer(createNodeRuntime({ backend: 'cpu' }), pack);
  const { image, crop, faceFound } = await locateFaceInFile(ASTRONAUT);
  if (!faceFound) throw new Error('BlazeFace found no face on the astronaut photo');
  const { manifest } = pack;
  const predicted = await personalizer.predict(cropToSquare(image, crop, manifest.hypernet!.imageSize));
  const latent = await personalizer.encodeLatent(cropToSquare(image, crop, manifest.image.width));
  return { pack, personalizer, image, crop, predicted, latent };
}

export function lidbDifference(a: Lidb, b: Lidb): string | undefined {
  if (a.rank !== b.rank) return `rank ${a.rank} vs ${b.rank}`;
  for (const [name, w] of a.layers) {
    const v = b.layers.get(name);
    if (!v) return `layer ${name} missing`;
    for (const k of ['dTrain', 'uTrain'] as const) {
      const i = w[k].findIndex((x, j) => x !== v[k][j]);
      if (i >= 0 || w[k].length !== v[k].length) return `${name}.${k}[${i}]: ${w[k][i]} vs ${v[k][i]}`;
    }
  }
  return a.layers.size === b.layers.size ? undefined : 'layer counts differ';
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
