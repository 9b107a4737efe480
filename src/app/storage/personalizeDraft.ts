// The personalize step as the person left it (the photo the worker prepared, the crop, the
// fine-tune fields), kept in IndexedDB while a personalize runs, so that a reload in the middle
// brings them back and Personalize can be pressed again. Removed once a personalize finished.
import type { FineTuneFields, SelfieState } from '../store';
import { DRAFT_STORE, openDb, requestResult, transactionDone } from './personalizations';

const KEY = 'personalize';

export interface PersonalizeDraft {
  selfie: SelfieState;
  fineTune: FineTuneFields;
}

export async function saveDraft(draft: PersonalizeDraft): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(DRAFT_STORE, 'readwrite');
  tx.objectStore(DRAFT_STORE).put({ selfie: { ...draft.selfie, rgba: draft.selfie.rgba.slice() }, fineTune: { ...draft.fineTune } }, KEY);
  await transactionDone(tx);
}

/** The kept draft, or undefined when there is none or it is not one this version wrote. */
export async function loadDraft(): Promise<PersonalizeDraft | undefined> {
  const db = await openDb();
  const raw = (await requestResult(db.transaction(DRAFT_STORE, 'readonly').objectStore(DRAFT_STORE).get(KEY))) as Partial<PersonalizeDraft> | undefined;
  const selfie = raw?.selfie;
  if (!selfie || !(selfie.rgba instanceof Uint8ClampedArray) || selfie.rgba.length !== selfie.width * selfie.height * 4 || !selfie.current) return undefined;
  if (!raw.fineTune || typeof raw.fineTune !== 'object') return undefined;
  return { selfie, fineTune: raw.fineTune };
}

export async function clearDraft(): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(DRAFT_STORE, 'readwrite');
  tx.objectStore(DRAFT_STORE).delete(KEY);
  await transactionDone(tx);
}
