// The personalization in use is switched back on after a reload: its record id is remembered in
// localStorage, and once both the pack and the library are loaded it is applied again, unless it
// was made for another pack (then it stays off and the person is told why).
import type { PersonalizationRecord } from './storage/personalizations';

const KEY = 'hyperbooth.activePersonalization';

export type RestoreDecision =
  | { action: 'none' }
  /** the remembered record is gone (deleted, or another browser profile): forget it quietly */
  | { action: 'forget' }
  | { action: 'use'; record: PersonalizationRecord }
  | { action: 'skip'; record: PersonalizationRecord; message: string };

export function restoreDecision(rememberedId: string | null, records: readonly PersonalizationRecord[], packId: string | undefined): RestoreDecision {
  if (!rememberedId) return { action: 'none' };
  const record = records.find((r) => r.id === rememberedId);
  if (!record) return { action: 'forget' };
  if (packId !== undefined && record.packId && record.packId !== packId) {
    return {
      action: 'skip',
      record,
      message: `"${record.name}" was in use last time but was made for model pack "${record.packId}"; the loaded pack is "${packId}", so it was not switched back on.`,
    };
  }
  return { action: 'use', record };
}

/** localStorage can be missing or refuse writes (private windows, quotas): then nothing is remembered. */
export function readRememberedId(storage: Pick<Storage, 'getItem'> | undefined = globalStorage()): string | null {
  try {
    return storage?.getItem(KEY) ?? null;
  } catch {
    return null;
  }
}

export function rememberId(id: string | null, storage: Pick<Storage, 'setItem' | 'removeItem'> | undefined = globalStorage()): void {
  try {
    if (id) storage?.setItem(KEY, id);
    else storage?.removeItem(KEY);
  } catch {
    // remembering is a convenience; the library still lists the personalization
  }
}

function globalStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}
