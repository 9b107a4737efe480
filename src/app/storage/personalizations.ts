// The person's personalizations, kept in IndexedDB so they survive a reload: name, thumbnail,
// the weights file's bytes, how it was made. Records are only ever added, renamed or deleted by
// id, so a failed import or a crash mid-fine-tune cannot damage what was saved before.
import type { FineTuneSettings } from '../../../workers/api';
import { requestResult, sharedDatabase, transactionDone } from './idb';

export type PersonalizationSource = 'fine-tune' | 'import';

/** 'lidb': a HyperBooth LiDB file; 'lora': an imported kohya / PEFT LoRA applied to the slots */
export type PersonalizationKind = 'lidb' | 'lora';

export interface PersonalizationRecord {
  id: string;
  name: string;
  /** ms since the epoch */
  createdAt: number;
  packId: string;
  trigger: string;
  rank: number;
  source: PersonalizationSource;
  /** absent: 'lidb' (records saved before LoRAs could be imported) */
  kind?: PersonalizationKind;
  /** the personal weights file: the `.lidb.safetensors`, or the kohya / PEFT `.safetensors` when kind is 'lora' */
  weightsFile: Uint8Array;
  /** an imported LoRA's strength (multiplies its ΔW) */
  strength?: number;
  /** lowercase hex sha256 of `weightsFile`: the same file imported twice is recognised */
  sha256: string;
  /** PNG of the face crop (absent for imported files) */
  thumbnailPng?: Uint8Array;
  settings?: FineTuneSettings;
  losses?: number[];
  /** why the fine-tune ended early, when it did */
  stoppedEarly?: string;
}

/**
 * What IndexedDB holds: plain fields and ArrayBuffers, with a version for migrations.
 * Version 1 (before this one) kept the weights file under `lidb`, whatever its kind; fromStored
 * still reads it, so nothing saved by an older version is lost.
 */
export const STORED_VERSION = 2;

export interface StoredPersonalization
  extends Pick<PersonalizationRecord, 'id' | 'name' | 'createdAt' | 'packId' | 'trigger' | 'rank' | 'source' | 'kind' | 'sha256'> {
  v: typeof STORED_VERSION;
  strength?: number | null;
  weightsFile: ArrayBuffer;
  thumbnailPng: ArrayBuffer | null;
  settings: FineTuneSettings | null;
  losses: number[] | null;
  stoppedEarly: string | null;
}

const copyBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;

export function toStored(r: PersonalizationRecord): StoredPersonalization {
  return {
    v: STORED_VERSION,
    id: r.id,
    name: r.name,
    createdAt: r.createdAt,
    packId: r.packId,
    trigger: r.trigger,
    rank: r.rank,
    source: r.source,
    kind: r.kind ?? 'lidb',
    strength: r.strength ?? null,
    weightsFile: copyBuffer(r.weightsFile),
    sha256: r.sha256,
    thumbnailPng: r.thumbnailPng ? copyBuffer(r.thumbnailPng) : null,
    settings: r.settings ? { ...r.settings } : null,
    losses: r.losses ? [...r.losses] : null,
    stoppedEarly: r.stoppedEarly ?? null,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string';
const isBytes = (v: unknown): v is ArrayBuffer | Uint8Array => v instanceof ArrayBuffer || v instanceof Uint8Array;
const bytesOf = (v: ArrayBuffer | Uint8Array): Uint8Array => (v instanceof Uint8Array ? v.slice() : new Uint8Array(v.slice(0)));

function readSettings(v: unknown): FineTuneSettings | undefined | false {
  if (v === null || v === undefined) return undefined;
  if (!isObject(v)) return false;
  const { steps, learningRate, rank, seed } = v;
  const nums = [steps, learningRate, rank, seed];
  if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n))) return false;
  const settings: FineTuneSettings = { steps: steps as number, learningRate: learningRate as number, rank: rank as number, seed: seed as number };
  // records from before the relaxation setting have none: left out, not guessed
  if (v.relaxation === 'full-space' || v.relaxation === 'aux-subspace') settings.relaxation = v.relaxation;
  return settings;
}

/** A version-1 value in today's shape: its `lidb` field held the weights file of either kind. */
function migrateV1(raw: Record<string, unknown>): Record<string, unknown> {
  const { lidb, ...rest } = raw;
  return { ...rest, v: STORED_VERSION, weightsFile: lidb };
}

/** A stored value (of this version or an older one) back into a record, or why it cannot be used. */
export function fromStored(stored: unknown): PersonalizationRecord | { problem: string } {
  if (!isObject(stored)) return { problem: 'not an object' };
  const raw = stored.v === 1 ? migrateV1(stored) : stored;
  const id = isText(raw.id) && raw.id ? raw.id : undefined;
  const where = id ? `personalization ${JSON.stringify(id)}` : 'a personalization';
  if (raw.v !== STORED_VERSION) return { problem: `${where} was saved in an unknown format (version ${JSON.stringify(raw.v)})` };
  if (!id) return { problem: `${where} has no id` };
  if (!isText(raw.name) || raw.name.trim() === '') return { problem: `${where} has no name` };
  if (typeof raw.createdAt !== 'number' || !Number.isFinite(raw.createdAt)) return { problem: `${where} has no creation date` };
  if (!isText(raw.packId) || !isText(raw.trigger)) return { problem: `${where} lacks its pack id or trigger word` };
  if (typeof raw.rank !== 'number' || !Number.isInteger(raw.rank) || raw.rank < 1) return { problem: `${where} has no valid rank` };
  if (raw.source !== 'fine-tune' && raw.source !== 'import') return { problem: `${where} has an unknown source` };
  if (raw.kind !== undefined && raw.kind !== 'lidb' && raw.kind !== 'lora') return { problem: `${where} has an unknown kind ${JSON.stringify(raw.kind)}` };
  if (!isBytes(raw.weightsFile) || raw.weightsFile.byteLength === 0) return { problem: `${where} has no file bytes` };
  const strength = raw.strength ?? undefined;
  if (strength !== undefined && (typeof strength !== 'number' || !Number.isFinite(strength))) return { problem: `${where} has a damaged LoRA strength` };
  if (!isText(raw.sha256) || !/^[0-9a-f]{64}$/.test(raw.sha256)) return { problem: `${where} has no valid sha256` };
  const settings = readSettings(raw.settings);
  if (settings === false) return { problem: `${where} has damaged fine-tune settings` };
  const record: PersonalizationRecord = {
    id,
    name: raw.name,
    createdAt: raw.createdAt,
    packId: raw.packId,
    trigger: raw.trigger,
    rank: raw.rank,
    source: raw.source,
    weightsFile: bytesOf(raw.weightsFile),
    sha256: raw.sha256,
  };
  if (raw.kind === 'lora') record.kind = 'lora';
  if (strength !== undefined) record.strength = strength;
  if (isBytes(raw.thumbnailPng) && raw.thumbnailPng.byteLength > 0) record.thumbnailPng = bytesOf(raw.thumbnailPng);
  if (settings) record.settings = settings;
  if (Array.isArray(raw.losses) && raw.losses.every((l) => typeof l === 'number')) record.losses = [...(raw.losses as number[])];
  if (isText(raw.stoppedEarly)) record.stoppedEarly = raw.stoppedEarly;
  return record;
}

/** Newest first; equal dates by name so the order is stable. */
export function sortRecords(records: PersonalizationRecord[]): PersonalizationRecord[] {
  return [...records].sort((a, b) => b.createdAt - a.createdAt || a.name.localeCompare(b.name));
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes.slice().buffer as ArrayBuffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function newRecordId(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `p-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// ---- IndexedDB ----

const DB_NAME = 'hyperbooth';
const DB_VERSION = 1;
const STORE = 'personalizations';

export class StorageUnavailableError extends Error {
  constructor(cause: unknown) {
    super(
      'Your personalizations cannot be kept in this browser (IndexedDB is not available here, ' +
        'e.g. in a private window): download the LiDB file to keep one.',
      { cause },
    );
    this.name = 'StorageUnavailableError';
  }
}

const openSharedDb = sharedDatabase(DB_NAME, DB_VERSION, (db) => {
  if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: 'id' });
});

/**
 * Why a storage call failed, in words: IndexedDB fails with DOMExceptions whose message is often
 * empty (a full disk gives a bare QuotaExceededError), so the name always goes in, and for a full
 * quota what this origin uses of what it may.
 */
export async function storageFailureText(e: unknown): Promise<string> {
  const name = e instanceof DOMException || (e instanceof Error && e.name !== 'Error') ? e.name : '';
  const message = e instanceof Error ? e.message : String(e ?? '');
  let text = [name, message].filter(Boolean).join(': ') || 'the browser gave no reason';
  if (name === 'QuotaExceededError' || /quota/i.test(message)) {
    const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
    const estimate = await storage?.estimate?.().catch(() => undefined);
    if (estimate?.quota) text += ` (this site uses ${mb(estimate.usage ?? 0)} of the ${mb(estimate.quota)} the browser allows it)`;
    else text += ' (the browser storage for this site is full)';
  }
  return text;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;


function openDb(): Promise<IDBDatabase> {
  return openSharedDb().catch((e: unknown) => {
    throw new StorageUnavailableError(e);
  });
}

// ---- other tabs ----

/**
 * One channel for sending and hearing: a BroadcastChannel does not hear its own messages, so a
 * tab is told only of the changes other tabs made.
 */
let channel: BroadcastChannel | undefined;
function changesChannel(): BroadcastChannel | undefined {
  if (typeof BroadcastChannel === 'undefined') return undefined;
  channel ??= new BroadcastChannel('hyperbooth-personalizations');
  return channel;
}

function announceChange(): void {
  changesChannel()?.postMessage('changed');
}

/** Calls `listener` when another tab of this site added, renamed or deleted a personalization. */
export function onChangeInOtherTab(listener: () => void): () => void {
  const ch = changesChannel();
  if (!ch) return () => undefined;
  const heard = () => listener();
  ch.addEventListener('message', heard);
  return () => ch.removeEventListener('message', heard);
}

export interface LoadedRecords {
  records: PersonalizationRecord[];
  /** records that could not be read, with the reason (kept in the database, not deleted) */
  skipped: string[];
}

export async function loadPersonalizations(): Promise<LoadedRecords> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readonly');
  const raws = await requestResult(tx.objectStore(STORE).getAll());
  const records: PersonalizationRecord[] = [];
  const skipped: string[] = [];
  for (const raw of raws) {
    const r = fromStored(raw);
    if ('problem' in r) skipped.push(r.problem);
    else records.push(r);
  }
  return { records: sortRecords(records), skipped };
}

/** Adds a new record; `add` (not `put`) so an id clash fails instead of overwriting. */
export async function addPersonalization(record: PersonalizationRecord): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).add(toStored(record));
  await transactionDone(tx);
  announceChange();
}

export async function renamePersonalization(id: string, name: string): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  const store = tx.objectStore(STORE);
  const raw = await requestResult(store.get(id));
  if (!isObject(raw)) {
    tx.abort();
    throw new Error('This personalization is no longer saved (deleted in another tab?).');
  }
  // a record of an older version stays in its own shape: fromStored reads both
  store.put({ ...raw, name });
  await transactionDone(tx);
  announceChange();
}

export async function deletePersonalization(id: string): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).delete(id);
  await transactionDone(tx);
  announceChange();
}
