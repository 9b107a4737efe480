// The photo the person is working on (decoded, as the worker prepared it) and their crop, kept
// in IndexedDB so a reload does not empty the upload box under a ticked stepper. One record:
// the newest photo replaces the last. Beside it, while a personalize runs, the Personalize
// settings it was started with: a reload mid-run leaves them there, so the next page load knows
// a run was interrupted and can put the settings back for Personalize to be pressed again.
import type { FineTuneFields, SelfieState } from '../store';
import { RELAXATIONS } from '../../finetune/relaxation';
import { requestResult, sharedDatabase, transactionDone } from './idb';

const STORE = 'selfie';
const KEY = 'last';
const RUN_KEY = 'personalizeRun';

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

/** A personalize that was started and has not ended in its tab (yet, or ever: the page reloaded). */
export interface StartedRun {
  /** the Personalize settings as they were typed */
  fineTune: FineTuneFields;
  /** the pack it ran on: the settings are put back only under the same pack */
  packId: string;
}

export function readStartedRun(raw: unknown): StartedRun | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { fineTune, packId } = raw as Record<string, unknown>;
  if (typeof packId !== 'string' || typeof fineTune !== 'object' || fineTune === null) return undefined;
  const f = fineTune as Record<string, unknown>;
  if (!['steps', 'learningRate', 'rank', 'seed'].every((k) => typeof f[k] === 'string')) return undefined;
  if (!(RELAXATIONS as readonly unknown[]).includes(f.relaxation)) return undefined;
  const { steps, learningRate, rank, seed, relaxation } = f as unknown as FineTuneFields;
  return { packId, fineTune: { steps, learningRate, rank, seed, relaxation } };
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

/** The run that was started and never ended, if the last page left one. */
export async function loadStartedRun(): Promise<StartedRun | undefined> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readonly');
  return readStartedRun(await requestResult(tx.objectStore(STORE).get(RUN_KEY)));
}

/** At Personalize: the photo with its crop as the run uses them, and the settings, in one write. */
export async function saveStartedRun(selfie: SelfieState, run: StartedRun): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).put(selfie, KEY);
  tx.objectStore(STORE).put({ packId: run.packId, fineTune: { ...run.fineTune } }, RUN_KEY);
  await transactionDone(tx);
}

/** The run ended in its tab (finished, cancelled or failed), or its settings were put back. */
export async function forgetStartedRun(): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).delete(RUN_KEY);
  await transactionDone(tx);
}
