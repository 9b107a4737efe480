// The photo the person is working on (decoded, as the worker prepared it) and their crop, kept
// in IndexedDB so a reload does not empty the upload box under a ticked stepper. One record:
// the newest photo replaces the last.
import type { SelfieState } from '../store';
import { requestResult, sharedDatabase, transactionDone } from './idb';

const STORE = 'selfie';
const KEY = 'last';

const openDb = sharedDatabase('hyperbooth-selfie', 1, (db) => {
  if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
});

const isCrop = (c: unknown): boolean =>
  typeof c === 'object' && c !== null && ['x', 'y', 'size'].every((k) => typeof (c as Record<string, unknown>)[k] === 'number');

/** A stored value back into the selfie state, or undefined when it is damaged or from another shape. */
export function readStoredSelfie(raw: unknown): SelfieState | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const { width, height, rgba } = r;
  if (typeof width !== 'number' || typeof height !== 'number' || !(rgba instanceof Uint8ClampedArray) || rgba.length !== width * height * 4 || rgba.length === 0) return undefined;
  if (!isCrop(r.crop) || !isCrop(r.current) || typeof r.fileName !== 'string' || typeof r.confirmed !== 'boolean') return undefined;
  if (typeof r.faceFound !== 'boolean' || typeof r.faceScore !== 'number') return undefined;
  return r as unknown as SelfieState;
}

export async function loadLastSelfie(): Promise<SelfieState | undefined> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readonly');
  return readStoredSelfie(await requestResult(tx.objectStore(STORE).get(KEY)));
}

export async function saveLastSelfie(selfie: SelfieState | null): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  if (selfie) tx.objectStore(STORE).put(selfie, KEY);
  else tx.objectStore(STORE).delete(KEY);
  await transactionDone(tx);
}
