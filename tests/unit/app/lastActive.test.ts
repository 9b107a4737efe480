import { describe, expect, test } from 'vitest';
import { readRememberedId, rememberId, restoreDecision } from '../../../src/app/lastActive';
import type { PersonalizationRecord } from '../../../src/app/storage/personalizations';

const record = (id: string, packId = 'tiny'): PersonalizationRecord => ({
  id,
  name: `name ${id}`,
  createdAt: 1,
  packId,
  trigger: 'sks',
  rank: 4,
  source: 'fine-tune',
  fileSize: 1,
  sha256: 'a'.repeat(64),
});

class MemoryStorage {
  values = new Map<string, string>();
  getItem(k: string) {
    return this.values.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.values.set(k, v);
  }
  removeItem(k: string) {
    this.values.delete(k);
  }
}

describe('restoreDecision', () => {
  const records = [record('a'), record('b', 'sd15')];

  test('nothing remembered: nothing to do', () => {
    expect(restoreDecision(null, records, 'tiny')).toEqual({ action: 'none' });
  });

  test('the remembered record for this pack is switched back on', () => {
    expect(restoreDecision('a', records, 'tiny')).toEqual({ action: 'use', record: records[0] });
  });

  test('a record for another pack is not, and the message says why', () => {
    const d = restoreDecision('b', records, 'tiny');
    expect(d.action).toBe('skip');
    if (d.action !== 'skip') return;
    expect(d.record).toBe(records[1]);
    expect(d.message).toContain('"name b"');
    expect(d.message).toContain('"sd15"');
    expect(d.message).toContain('"tiny"');
    expect(d.message).toContain('not switched back on');
  });

  test('a remembered record that was deleted is forgotten', () => {
    expect(restoreDecision('gone', records, 'tiny')).toEqual({ action: 'forget' });
  });
});

describe('remembering the id', () => {
  test('set, read, cleared', () => {
    const s = new MemoryStorage();
    rememberId('x', s);
    expect(readRememberedId(s)).toBe('x');
    rememberId(null, s);
    expect(readRememberedId(s)).toBeNull();
  });

  test('a storage that throws (private window, quota) is not an error', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('quota');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    expect(() => rememberId('x', broken)).not.toThrow();
    expect(readRememberedId(broken)).toBeNull();
    expect(readRememberedId(undefined)).toBeNull();
  });
});
