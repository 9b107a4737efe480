// The worker's personal weights on the committed tiny pack: a LiDB file written by the pipeline's
// writer is read back into typed fields (what the app stores), exported again, and kept or
// dropped on a pack swap. (The cases of the former app-side `stepsDoneFromMeta` live here now.)
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { lidbInfo, PersonalWeightsSlot } from '../../../workers/personalWeights';
import { initLidb, LidbRng, readLidbFile, writeLidbFile, type LidbFileMeta } from '../../../src/lidb';
import { loadPackFromDisk } from '../../../src/packs/node';
import type { LoadedPack } from '../../../src/packs/types';

const TINY = fileURLToPath(new URL('../../../public/models/tiny', import.meta.url));

let pack: LoadedPack;
beforeAll(async () => {
  pack = await loadPackFromDisk(TINY);
});

const meta = (fineTune: Record<string, unknown>, patch: Partial<LidbFileMeta> = {}): LidbFileMeta => ({
  packId: 'tiny',
  auxSha256: 'a'.repeat(64),
  trigger: 'sks',
  fineTune,
  seed: 7,
  rank: 4,
  ...patch,
});

function lidbFile(fineTune: Record<string, unknown>, name?: string): Uint8Array {
  const { manifest } = pack;
  const lidb = initLidb(manifest.lora.layers, 2, new LidbRng(3, 'init'));
  return writeLidbFile(lidb, { packId: manifest.id, auxSha256: manifest.lidb!.auxSha256, trigger: manifest.trigger, fineTune, seed: 5, ...(name ? { name } : {}) });
}

describe('lidbInfo: a LiDB file in typed fields', () => {
  test('reads stepsDone and stoppedEarly from the fine_tune metadata', () => {
    expect(lidbInfo(meta({ steps: 60, stepsDone: 2, stoppedEarly: 'cancelled' }))).toMatchObject({ stepsDone: 2, stoppedEarly: 'cancelled' });
    const full = lidbInfo(meta({ steps: 60, stepsDone: 60 }));
    expect(full.stepsDone).toBe(60);
    expect(full).not.toHaveProperty('stoppedEarly');
  });

  test('missing or odd values give nothing', () => {
    for (const ft of [{}, { stepsDone: -1, stoppedEarly: '' }, { stepsDone: 2.5 }]) {
      const info = lidbInfo(meta(ft));
      expect(info).not.toHaveProperty('stepsDone');
      expect(info).not.toHaveProperty('stoppedEarly');
    }
  });

  test('settings come from the file when all four are there (rank and seed default to the file\'s own)', () => {
    expect(lidbInfo(meta({ steps: 40, learningRate: 0.002, rank: 8, seed: 1 })).settings).toEqual({ steps: 40, learningRate: 0.002, rank: 8, seed: 1, relaxation: 'aux-subspace' });
    expect(lidbInfo(meta({ steps: 40, learningRate: 0.002, rank: 8, seed: 1, relaxation: 'full-space' })).settings).toMatchObject({ relaxation: 'full-space' });
    expect(lidbInfo(meta({ steps: 40, learning_rate: 0.002 })).settings).toEqual({ steps: 40, learningRate: 0.002, rank: 4, seed: 7, relaxation: 'aux-subspace' });
    expect(lidbInfo(meta({ learningRate: 0.002 }))).not.toHaveProperty('settings');
    expect(lidbInfo(meta({ steps: 'many', learningRate: 0.002 }))).not.toHaveProperty('settings');
  });

  test('the file written by the pipeline reads back into the fields the app stores', () => {
    const bytes = lidbFile({ steps: 40, stepsDone: 3, learningRate: 0.001, rank: 2, stoppedEarly: 'cancelled' }, 'Anna');
    const slot = new PersonalWeightsSlot();
    const info = slot.useLidb(pack, bytes);
    expect(info).toEqual({
      packId: pack.manifest.id,
      trigger: pack.manifest.trigger,
      rank: 2,
      seed: 5,
      name: 'Anna',
      // a format-1 file: the LiDB itself was trained, in the aux subspace
      settings: { steps: 40, learningRate: 0.001, rank: 2, seed: 5, relaxation: 'aux-subspace' },
      stepsDone: 3,
      stoppedEarly: 'cancelled',
      fileBytes: bytes.length,
    });
  });
});

describe('PersonalWeightsSlot', () => {
  test('the active LiDB goes under a request\'s own slots, and exports as itself or as a LoRA', () => {
    const slot = new PersonalWeightsSlot();
    expect(slot.slotsOver(undefined)).toBeUndefined();
    expect(() => slot.export(pack, 'lidb')).toThrow(/no personal weights to export/);
    const bytes = lidbFile({ steps: 0 });
    slot.useLidb(pack, bytes);
    const [first] = pack.manifest.lora.layers;
    const own = { rank: 1, down: new Float32Array(first.nIn), up: new Float32Array(first.nOut) };
    const merged = slot.slotsOver(new Map([[first.name, own]]))!;
    expect(merged.size).toBe(pack.manifest.lora.layers.length);
    expect(merged.get(first.name)).toBe(own);
    expect(slot.export(pack, 'lidb')).toEqual(bytes);
    const kohya = slot.export(pack, 'kohya');
    // the LoRA export imports back as a LoRA for the same layers
    expect(slot.useLora(pack, kohya, 1)).toMatchObject({ format: 'kohya', applied: pack.manifest.lora.layers.length, ignored: [] });
    expect(() => slot.export(pack, 'lidb')).toThrow(/imported LoRA, which has no LiDB form/);
    expect(() => slot.useLora(pack, kohya, Number.NaN)).toThrow(/finite number/);
  });

  test('a pack swap keeps weights that fit the new pack and drops those that do not', () => {
    const slot = new PersonalWeightsSlot();
    slot.useLidb(pack, lidbFile({ steps: 0 }));
    slot.refit(pack);
    expect(slot.slotsOver(undefined)?.size).toBe(pack.manifest.lora.layers.length);
    const other = { ...pack, manifest: { ...pack.manifest, id: 'another-pack' } };
    slot.refit(other);
    expect(slot.slotsOver(undefined)).toBeUndefined();
    // and a file for another pack is refused with the reason
    expect(() => slot.useLidb(other, lidbFile({ steps: 0 }))).toThrow(/another-pack|pack/);
    expect(readLidbFile(lidbFile({ steps: 0 }), { packId: pack.manifest.id, auxSha256: pack.manifest.lidb!.auxSha256, layers: pack.manifest.lora.layers }).meta.packId).toBe(pack.manifest.id);
  });
});
