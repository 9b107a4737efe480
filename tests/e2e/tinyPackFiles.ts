// Personal weights files for the embedded tiny pack, made in Node with the app's own writers:
// a LiDB (as Personalize would save one) and a kohya LoRA over every layer, both small.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './harness';
import { initLidb, kohyaModuleName, LidbRng, writeLidbFile } from '../../src/lidb';
import { encodeFloats, writeSafetensors } from '../../src/safetensors';
import type { PackManifest } from '../../src/packs/manifest';

export const tinyManifest = JSON.parse(readFileSync(join(projectRoot, 'public', 'models', 'tiny', 'manifest.json'), 'utf8')) as PackManifest;

/** A rank-1 LiDB of random values (seeded) tied to the tiny pack's id and aux bases. */
export function tinyLidbFile(seed: number): Uint8Array {
  return writeLidbFile(initLidb(tinyManifest.lora.layers, 1, new LidbRng(seed)), {
    packId: tinyManifest.id,
    auxSha256: tinyManifest.lidb!.auxSha256,
    trigger: tinyManifest.trigger,
    fineTune: { steps: 3, learningRate: 0.001, rank: 1, seed },
    seed,
  });
}

/** A rank-2 kohya LoRA over every layer of the tiny pack, every value `value`. */
export function tinyKohyaFile(value = 0.01): Uint8Array {
  return writeSafetensors(
    tinyManifest.lora.layers.flatMap((l) => {
      const k = kohyaModuleName(l);
      return [
        { name: `${k}.alpha`, dtype: 'F32' as const, shape: [], bytes: encodeFloats([2], 'F32') },
        { name: `${k}.lora_down.weight`, dtype: 'F32' as const, shape: [2, l.nIn], bytes: encodeFloats(new Float32Array(2 * l.nIn).fill(value), 'F32') },
        { name: `${k}.lora_up.weight`, dtype: 'F32' as const, shape: [l.nOut, 2], bytes: encodeFloats(new Float32Array(2 * l.nOut).fill(value), 'F32') },
      ];
    }),
  );
}
