// The IndexedDB record (de)serialization (IndexedDB itself runs in the e2e test: Node has none).
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { fromStored, sha256Hex, sortRecords, storageFailureText, STORED_VERSION, toStored, type PersonalizationRecord } from '../../../src/app/storage/personalizations';

const record = (patch: Partial<PersonalizationRecord> = {}): PersonalizationRecord => ({
  id: 'p1',
  name: 'Anna',
  createdAt: 1_700_000_000_000,
  packId: 'tiny',
  trigger: 'sks',
  rank: 4,
  source: 'fine-tune',
  weightsFile: new Uint8Array([1, 2, 3, 4, 5]),
  sha256: 'a'.repeat(64),
  thumbnailPng: new Uint8Array([137, 80, 78, 71]),
  settings: { steps: 40, learningRate: 0.001, rank: 4, seed: 7 },
  losses: [0.5, 0.4, Number.NaN],
  stoppedEarly: 'non-finite loss at step 3: restored step 2',
  ...patch,
});

/** The shape version 1 of the app wrote: the weights file under `lidb` (kind present only once LoRAs could be imported). */
function v1Stored(r: PersonalizationRecord): Record<string, unknown> {
  const { weightsFile, v: _v, ...rest } = toStored(r);
  return { ...rest, v: 1, lidb: weightsFile };
}

describe('stored personalizations', () => {
  test('round trip keeps every field, and the stored copy shares no memory with the record', () => {
    const r = record();
    const stored = toStored(r);
    expect(stored.v).toBe(STORED_VERSION);
    expect(stored.weightsFile).toBeInstanceOf(ArrayBuffer);
    r.weightsFile[0] = 99; // the caller changing its bytes later must not change what was saved
    const back = fromStored(structuredClone(stored));
    if ('problem' in back) throw new Error(back.problem);
    expect(back).toEqual({ ...record(), losses: [0.5, 0.4, Number.NaN] });
    expect(back.weightsFile).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
  });

  test('the relaxation in the settings survives a round trip; an unknown one is left out', () => {
    const r = record({ settings: { steps: 40, learningRate: 0.001, rank: 4, seed: 7, relaxation: 'full-space' } });
    const back = fromStored(structuredClone(toStored(r)));
    if ('problem' in back) throw new Error(back.problem);
    expect(back.settings?.relaxation).toBe('full-space');
    const odd = fromStored({ ...structuredClone(toStored(record())), settings: { steps: 40, learningRate: 0.001, rank: 4, seed: 7, relaxation: 'sideways' } });
    if ('problem' in odd) throw new Error(odd.problem);
    expect(odd.settings).not.toHaveProperty('relaxation');
  });

  test('optional fields stay absent', () => {
    const r = record({ thumbnailPng: undefined, settings: undefined, losses: undefined, stoppedEarly: undefined, source: 'import' });
    const back = fromStored(structuredClone(toStored(r)));
    expect(back).not.toHaveProperty('problem');
    expect(back).not.toHaveProperty('thumbnailPng');
    expect(back).not.toHaveProperty('settings');
    expect(back).not.toHaveProperty('losses');
    expect(back).not.toHaveProperty('stoppedEarly');
  });

  test('an imported LoRA keeps its kind and strength; a record from before LoRA import reads as a LiDB', () => {
    const lora = record({ kind: 'lora', strength: 0.75, source: 'import', trigger: '', settings: undefined, losses: undefined, stoppedEarly: undefined });
    const back = fromStored(structuredClone(toStored(lora)));
    if ('problem' in back) throw new Error(back.problem);
    expect(back.kind).toBe('lora');
    expect(back.strength).toBe(0.75);
    const { kind: _k, strength: _s, ...old } = toStored(record());
    const oldBack = fromStored(structuredClone(old));
    if ('problem' in oldBack) throw new Error(oldBack.problem);
    expect(oldBack.kind ?? 'lidb').toBe('lidb');
    expect(oldBack).not.toHaveProperty('strength');
  });

  test('Uint8Array values (as some browsers hand back) are read too', () => {
    const stored = { ...toStored(record()), weightsFile: new Uint8Array([9, 9]) };
    const back = fromStored(stored);
    expect('problem' in back ? back.problem : back.weightsFile).toEqual(new Uint8Array([9, 9]));
  });

  test.each([
    ['not an object', null, 'not an object'],
    ['another version', { ...toStored(record()), v: STORED_VERSION + 1 }, `unknown format (version ${STORED_VERSION + 1})`],
    ['no id', { ...toStored(record()), id: '' }, 'has no id'],
    ['empty name', { ...toStored(record()), name: '  ' }, 'has no name'],
    ['bad date', { ...toStored(record()), createdAt: 'yesterday' }, 'no creation date'],
    ['no pack', { ...toStored(record()), packId: 3 }, 'pack id or trigger'],
    ['bad rank', { ...toStored(record()), rank: 0 }, 'no valid rank'],
    ['bad source', { ...toStored(record()), source: 'magic' }, 'unknown source'],
    ['no bytes', { ...toStored(record()), weightsFile: new ArrayBuffer(0) }, 'no file bytes'],
    ['a version-1 record without bytes', { ...v1Stored(record()), lidb: new ArrayBuffer(0) }, 'no file bytes'],
    ['unknown kind', { ...toStored(record()), kind: 'lycoris' }, 'unknown kind "lycoris"'],
    ['bad strength', { ...toStored(record({ kind: 'lora' })), strength: 'strong' }, 'damaged LoRA strength'],
    ['bad hash', { ...toStored(record()), sha256: 'xyz' }, 'no valid sha256'],
    ['bad settings', { ...toStored(record()), settings: { steps: '40' } }, 'damaged fine-tune settings'],
  ])('%s is reported, not thrown', (_what, raw, problem) => {
    const r = fromStored(raw);
    expect(r).toHaveProperty('problem');
    expect((r as { problem: string }).problem).toContain(problem);
  });

  test('records saved by version 1 (bytes under "lidb", kind absent) load with every field, LiDBs and LoRAs alike', () => {
    const lidb = record();
    const backLidb = fromStored(structuredClone(v1Stored(lidb)));
    if ('problem' in backLidb) throw new Error(backLidb.problem);
    expect(backLidb).toEqual({ ...record(), losses: [0.5, 0.4, Number.NaN] });
    expect(backLidb.weightsFile).toEqual(new Uint8Array([1, 2, 3, 4, 5]));

    const lora = record({ kind: 'lora', strength: 0.5, source: 'import', trigger: '', weightsFile: new Uint8Array([7, 8]), settings: undefined, losses: undefined, stoppedEarly: undefined, thumbnailPng: undefined });
    const backLora = fromStored(structuredClone(v1Stored(lora)));
    if ('problem' in backLora) throw new Error(backLora.problem);
    expect(backLora).toEqual(lora);
    // saved again, it is written in today's shape and reads back the same
    const resaved = toStored(backLora);
    expect(resaved.v).toBe(STORED_VERSION);
    expect(resaved).not.toHaveProperty('lidb');
    expect(fromStored(structuredClone(resaved))).toEqual(lora);
  });

  test('a version-1 record renamed by this version (put back in its own shape with a new name) still loads', () => {
    const renamed = { ...v1Stored(record()), name: 'Anna at the beach' };
    const back = fromStored(structuredClone(renamed));
    if ('problem' in back) throw new Error(back.problem);
    expect(back.name).toBe('Anna at the beach');
    expect(back.weightsFile).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
  });

  test('sortRecords: newest first, ties by name, input untouched', () => {
    const input = [record({ id: 'a', name: 'b', createdAt: 1 }), record({ id: 'b', name: 'z', createdAt: 5 }), record({ id: 'c', name: 'a', createdAt: 1 })];
    expect(sortRecords(input).map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(input.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  test('sha256Hex matches node:crypto', async () => {
    const bytes = new TextEncoder().encode('hyperbooth');
    expect(await sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('storageFailureText', () => {
  test('names a DOMException whose message is empty, and says the storage is full for a quota error', async () => {
    const text = await storageFailureText(new DOMException('', 'QuotaExceededError'));
    expect(text).toMatch(/^QuotaExceededError \(/);
    expect(text).toMatch(/full|MB/);
  });

  test('gives name and message of other failures, and never an empty reason', async () => {
    expect(await storageFailureText(new DOMException('The transaction was aborted', 'AbortError'))).toBe('AbortError: The transaction was aborted');
    expect(await storageFailureText(new Error('disk gone'))).toBe('disk gone');
    expect(await storageFailureText(null)).toBe('the browser gave no reason');
  });
});
