// The one record factory: what it fills in (id, date, sha256), what it leaves absent, and that
// what it makes survives IndexedDB's (de)serialization unchanged.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createRecord, lidbFields } from '../../../src/app/records';
import { fromStored, toStored, withoutFile } from '../../../src/app/storage/personalizations';
import type { LidbInfo } from '../../../workers/api';

const bytes = new Uint8Array([3, 1, 4, 1, 5]);
const sha = createHash('sha256').update(bytes).digest('hex');

describe('createRecord', () => {
  test('fills in a fresh id, the date and the file\'s sha256; unknown optional fields stay absent', async () => {
    const input = { name: 'Anna', packId: 'tiny', trigger: 'sks', rank: 4, source: 'import' as const, weightsFile: bytes, settings: undefined, stoppedEarly: undefined };
    const a = await createRecord(input, 1234);
    const b = await createRecord(input, 1234);
    expect(a.id).not.toBe(b.id);
    expect(a).toEqual({ id: a.id, name: 'Anna', createdAt: 1234, packId: 'tiny', trigger: 'sks', rank: 4, source: 'import', weightsFile: bytes, sha256: sha });
    for (const key of ['kind', 'strength', 'settings', 'losses', 'stoppedEarly', 'thumbnailPng']) expect(a).not.toHaveProperty(key);
    expect(fromStored(structuredClone(toStored(withoutFile(a))))).toEqual({ ...withoutFile(a), fileSize: 5 });
  });

  test('a fine-tune record keeps its settings, losses, thumbnail and early stop; a LoRA its kind and strength', async () => {
    const settings = { steps: 40, learningRate: 0.001, rank: 4, seed: 0 };
    const ft = await createRecord({
      name: 'Me', packId: 'tiny', trigger: 'sks', rank: 4, source: 'fine-tune', weightsFile: bytes,
      settings, losses: [0.3, 0.2], stoppedEarly: 'cancelled', thumbnailPng: new Uint8Array([137, 80]),
    });
    expect(ft).toMatchObject({ settings, losses: [0.3, 0.2], stoppedEarly: 'cancelled', thumbnailPng: new Uint8Array([137, 80]) });
    expect(ft).not.toHaveProperty('kind');
    const lora = await createRecord({ name: 'Style', packId: 'tiny', trigger: '', rank: 8, source: 'import', kind: 'lora', strength: 0.5, weightsFile: bytes });
    expect(lora).toMatchObject({ kind: 'lora', strength: 0.5, sha256: sha });
    const unit = await createRecord({ name: 'Style', packId: 'tiny', trigger: '', rank: 8, source: 'import', kind: 'lora', weightsFile: bytes });
    expect(unit.strength).toBe(1);
    expect(fromStored(structuredClone(toStored(withoutFile(lora))))).toEqual(withoutFile(lora));
  });

  test('lidbFields takes pack, trigger, rank, settings and early stop from the file\'s own account', () => {
    const info: LidbInfo = { packId: 'tiny', trigger: 'sks', rank: 2, seed: 9, settings: { steps: 5, learningRate: 0.01, rank: 2, seed: 9 }, stepsDone: 3, stoppedEarly: 'cancelled' };
    expect(lidbFields(info)).toEqual({ packId: 'tiny', trigger: 'sks', rank: 2, settings: info.settings, stoppedEarly: 'cancelled' });
  });
});
