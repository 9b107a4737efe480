// The IndexedDB record (de)serialization and the move of older records' inline files to their own
// store (IndexedDB itself, and the upgrade that runs the move, are in tests/e2e/storageMigration).
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { fromStored, moveInlineBytes, sha256Hex, sortRecords, storageFailureText, STORED_VERSION, toStored, type PersonalizationRecord } from '../../../src/app/storage/personalizations';

const record = (patch: Partial<PersonalizationRecord> = {}): PersonalizationRecord => ({
  id: 'p1',
  name: 'Anna',
  createdAt: 1_700_000_000_000,
  packId: 'tiny',
  trigger: 'sks',
  rank: 4,
  source: 'fine-tune',
  fileSize: 5,
  sha256: 'a'.repeat(64),
  thumbnailPng: new Uint8Array([137, 80, 78, 71]),
  settings: { steps: 40, learningRate: 0.001, rank: 4, seed: 7 },
  losses: [0.5, 0.4, Number.NaN],
  stoppedEarly: 'non-finite loss at step 3: restored step 2',
  ...patch,
});

/** The shapes older versions wrote: the weights file inline, under `lidb` (version 1) or `weightsFile` (version 2). */
function inlineStored(r: PersonalizationRecord, v: 1 | 2, bytes: Uint8Array): Record<string, unknown> {
  const { fileSize: _size, v: _v, ...rest } = toStored(r);
  return { ...rest, v, [v === 1 ? 'lidb' : 'weightsFile']: bytes.slice().buffer };
}

describe('stored personalizations', () => {
  test('round trip keeps every field, holds no file bytes, and the stored copy shares no memory with the record', () => {
    const r = record();
    const stored = toStored(r);
    expect(stored.v).toBe(STORED_VERSION);
    expect(Object.values(stored).filter((v) => v instanceof ArrayBuffer)).toEqual([stored.thumbnailPng]);
    r.thumbnailPng![0] = 99; // the caller changing its bytes later must not change what was saved
    const back = fromStored(structuredClone(stored));
    if ('problem' in back) throw new Error(back.problem);
    expect(back).toEqual({ ...record(), losses: [0.5, 0.4, Number.NaN] });
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
    const stored = { ...toStored(record()), thumbnailPng: new Uint8Array([9, 9]) };
    const back = fromStored(stored);
    expect('problem' in back ? back.problem : back.thumbnailPng).toEqual(new Uint8Array([9, 9]));
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
    ['no file size', { ...toStored(record()), fileSize: 0 }, 'no file size'],
    ['an old record whose file could not be moved', { ...toStored(record()), v: 2 }, 'older version without its file bytes'],
    ['a version-1 record without bytes', { ...inlineStored(record(), 1, new Uint8Array(0)), lidb: undefined }, 'older version without its file bytes'],
    ['unknown kind', { ...toStored(record()), kind: 'lycoris' }, 'unknown kind "lycoris"'],
    ['bad strength', { ...toStored(record({ kind: 'lora' })), strength: 'strong' }, 'damaged LoRA strength'],
    ['bad hash', { ...toStored(record()), sha256: 'xyz' }, 'no valid sha256'],
    ['bad settings', { ...toStored(record()), settings: { steps: '40' } }, 'damaged fine-tune settings'],
  ])('%s is reported, not thrown', (_what, raw, problem) => {
    const r = fromStored(raw);
    expect(r).toHaveProperty('problem');
    expect((r as { problem: string }).problem).toContain(problem);
  });

  test('records saved inline by versions 1 and 2 give their file to the files store and read back with every field', () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    for (const v of [1, 2] as const) {
      const moved = moveInlineBytes(structuredClone(inlineStored(record(), v, bytes)));
      if (!moved) throw new Error(`version ${v} was not moved`);
      expect(moved.id).toBe('p1');
      expect(new Uint8Array(moved.bytes)).toEqual(bytes);
      expect(moved.value).not.toHaveProperty('lidb');
      expect(moved.value).not.toHaveProperty('weightsFile');
      expect(moved.value.v).toBe(STORED_VERSION);
      expect(fromStored(moved.value)).toEqual({ ...record(), losses: [0.5, 0.4, Number.NaN] });
    }
    // a LoRA saved by version 1 (kind and strength already there) keeps them
    const lora = record({ kind: 'lora', strength: 0.5, source: 'import', trigger: '', fileSize: 2, settings: undefined, losses: undefined, stoppedEarly: undefined, thumbnailPng: undefined });
    const movedLora = moveInlineBytes(inlineStored(lora, 1, new Uint8Array([7, 8])));
    expect(movedLora && fromStored(movedLora.value)).toEqual(lora);
    // a version-1 record renamed by version 2 (put back in its own shape with a new name) moves too
    const renamed = moveInlineBytes({ ...inlineStored(record(), 1, bytes), name: 'Anna at the beach' });
    expect(renamed && fromStored(renamed.value)).toMatchObject({ name: 'Anna at the beach', fileSize: 5 });
  });

  test('today\'s records and damaged old ones are not moved (fromStored reports the damaged ones)', () => {
    expect(moveInlineBytes(toStored(record()))).toBeUndefined();
    expect(moveInlineBytes(inlineStored(record(), 2, new Uint8Array(0)))).toBeUndefined();
    expect(moveInlineBytes({ ...inlineStored(record(), 1, new Uint8Array([1])), id: '' })).toBeUndefined();
    expect(moveInlineBytes('text')).toBeUndefined();
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
