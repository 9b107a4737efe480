// The pack the person picked, kept in localStorage so a reload loads the same one.
import type { PackIndexEntry } from './packIndex';

export const PACK_CHOICE_KEY = 'hyperbooth.pack';

export interface PackChoice {
  manifestUrl: string;
  id?: string;
  name?: string;
}

export function readPackChoice(): PackChoice | undefined {
  try {
    const raw = localStorage.getItem(PACK_CHOICE_KEY);
    const parsed = raw ? (JSON.parse(raw) as Partial<PackChoice>) : undefined;
    return typeof parsed?.manifestUrl === 'string' && parsed.manifestUrl ? (parsed as PackChoice) : undefined;
  } catch {
    // storage disabled or a value from an older version: fall back to the first pack
    return undefined;
  }
}

export function savePackChoice(choice: PackChoice): void {
  try {
    localStorage.setItem(PACK_CHOICE_KEY, JSON.stringify(choice));
  } catch {
    // private windows may refuse storage; the choice then lasts for this page only
  }
}

/** The saved choice (listed or a pack URL typed earlier), else the first pack of the index. */
export function chooseStartupPack(listed: PackIndexEntry[], saved = readPackChoice()): PackIndexEntry {
  if (saved) {
    const match = listed.find((e) => e.manifestUrl === saved.manifestUrl);
    if (match) return match;
    return { id: saved.id ?? 'custom', name: saved.name, manifestUrl: saved.manifestUrl };
  }
  return listed[0];
}
