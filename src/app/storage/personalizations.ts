// The person's personalizations, kept in IndexedDB so they survive a reload: name, thumbnail,
// how it was made, and the weights file. The file (a LiDB of ~100 KB, or an imported LoRA of up
// to 1 GB) lives in its own object store and is read only when it is switched on, so start-up
// reads the list without a single file byte. Records are only ever added, renamed or deleted by
// id, so a failed import or a crash mid-fine-tune cannot damage what was saved before.
import type { FineTuneSettings } from '../../../workers/api';
import { requestResult, sharedDatabase, transactionDone } from './idb';

export type PersonalizationSource = 'fine-tune' | 'import';

/** 'lidb': a HyperBooth LiDB file; 'lora': an imported kohya / PEFT LoRA applied to the slots */
export type PersonalizationKind = 'lidb' | 'lora';

/** A saved personalization as the list knows it: everything but its weights file's bytes. */
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
  /** bytes in the weights file (read with loadWeightsFile when it is switched on) */
  fileSize: number;
  /** an imported LoRA's strength (multiplies its ΔW) */
  strength?: number;
  /** lowercase hex sha256 of the weights file: the same file imported twice is recognised */
  sha256: string;
  /** PNG of the face crop (absent for imported files) */
  thumbnailPng?: Uint8Array;
  settings?: FineTuneSettings;
  losses?: number[];
  /** why the fine-tune ended early, when it did */
  stoppedEarly?: string;
}

/**
 * A personalization about to be saved, with its weights file: the `.lidb.safetensors`, or the
 * kohya / PEFT `.safetensors` when kind is 'lora'.
 */
export interface NewPersonalization extends Omit<PersonalizationRecord, 'fileSize'> {
  weightsFile: Uint8Array;
}

/**
 * What the list's object store holds: plain fields and ArrayBuffers, with a version.
 * Version 1 kept the weights file inline under `lidb`, version 2 inline under `weightsFile`; the
 * database upgrade moves those bytes to the files store (moveInlineBytes), so no file is lost.
 */
export const STORED_VERSION = 3;

export interface StoredPersonalization
  extends Pick<PersonalizationRecord, 'id' | 'name' | 'createdAt' | 'packId' | 'trigger' | 'rank' | 'source' | 'kind' | 'sha256' | 'fileSize'> {
  v: typeof STORED_VERSION;
  strength?: number | null;
  thumbnailPng: ArrayBuffer | null;
  settings: FineTuneSettings | null;
  losses: number[] | null;
  stoppedEarly: string | null;
}

const copyBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;

/** The list entry of a record, without its file: what the library keeps in memory. */
export function withoutFile(r: PersonalizationRecord | NewPersonalization): PersonalizationRecord {
  if (!('weightsFile' in r)) return r;
  const { weightsFile, ...rest } = r;
  return { ...rest, fileSize: weightsFile.byteLength };
}

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
    fileSize: r.fileSize,
    strength: r.strength ?? null,
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

/**
 * A value saved by version 1 or 2 (its weights file inline, under `lidb` or `weightsFile`) split
 * into today's list entry and the file's bytes; undefined for anything else (today's values, and
 * damaged ones, which stay as they are for fromStored to report).
 */
export function moveInlineBytes(raw: unknown): { id: string; value: Record<string, unknown>; bytes: ArrayBuffer | Uint8Array } | undefined {
  if (!isObject(raw) || (raw.v !== 1 && raw.v !== 2) || !isText(raw.id) || !raw.id) return undefined;
  const { lidb, weightsFile, ...rest } = raw;
  const bytes = raw.v === 1 ? lidb : weightsFile;
  if (!isBytes(bytes) || bytes.byteLength === 0) return undefined;
  return { id: raw.id, value: { ...rest, v: STORED_VERSION, fileSize: bytes.byteLength }, bytes };
}

/** A stored list entry back into a record, or why it cannot be used. */
export function fromStored(raw: unknown): PersonalizationRecord | { problem: string } {
  if (!isObject(raw)) return { problem: 'not an object' };
  const id = isText(raw.id) && raw.id ? raw.id : undefined;
  const where = id ? `personalization ${JSON.stringify(id)}` : 'a personalization';
  if (raw.v === 1 || raw.v === 2) return { problem: `${where} was saved by an older version without its file bytes` };
  if (raw.v !== STORED_VERSION) return { problem: `${where} was saved in an unknown format (version ${JSON.stringify(raw.v)})` };
  if (!id) return { problem: `${where} has no id` };
  if (!isText(raw.name) || raw.name.trim() === '') return { problem: `${where} has no name` };
  if (typeof raw.createdAt !== 'number' || !Number.isFinite(raw.createdAt)) return { problem: `${where} has no creation date` };
  if (!isText(raw.packId) || !isText(raw.trigger)) return { problem: `${where} lacks its pack id or trigger word` };
  if (typeof raw.rank !== 'number' || !Number.isInteger(raw.rank) || raw.rank < 1) return { problem: `${where} has no valid rank` };
  if (raw.source !== 'fine-tune' && raw.source !== 'import') return { problem: `${where} has an unknown source` };
  if (raw.kind !== undefined && raw.kind !== 'lidb' && raw.kind !== 'lora') return { problem: `${where} has an unknown kind ${JSON.stringify(raw.kind)}` };
  if (typeof raw.fileSize !== 'number' || !Number.isSafeInteger(raw.fileSize) || raw.fileSize < 1) return { problem: `${where} has no file size` };
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
    fileSize: raw.fileSize,
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
/** 2: the weights files moved out of the list's records into FILES */
const DB_VERSION = 2;
const STORE = 'personalizations';
/** the weights files' bytes, keyed by record id */
const FILES = 'files';

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

const openSharedDb = sharedDatabase(DB_NAME, DB_VERSION, (db, tx, oldVersion) => {
  const list = db.objectStoreNames.contains(STORE) ? tx.objectStore(STORE) : db.createObjectStore(STORE, { keyPath: 'id' });
  const files = db.objectStoreNames.contains(FILES) ? tx.objectStore(FILES) : db.createObjectStore(FILES);
  if (oldVersion >= 1 && oldVersion < 2) moveFilesOut(list, files);
});

/**
 * The upgrade from version 1: every record that holds its file inline gives the bytes to the
 * files store and keeps its size. Inside the upgrade transaction, so it happens whole or not at all.
 */
function moveFilesOut(list: IDBObjectStore, files: IDBObjectStore): void {
  const cursor = list.openCursor();
  cursor.onsuccess = () => {
    const at = cursor.result;
    if (!at) return;
    const moved = moveInlineBytes(at.value);
    if (moved) {
      files.put(moved.bytes, moved.id);
      at.update(moved.value);
    }
    at.continue();
  };
}

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

/** The list, without any file's bytes (those are read by loadWeightsFile when one is switched on). */
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

/** The weights file of record `id`, read from the files store. */
export async function loadWeightsFile(id: string): Promise<Uint8Array> {
  const db = await openDb();
  const tx = db.transaction(FILES, 'readonly');
  const bytes: unknown = await requestResult(tx.objectStore(FILES).get(id));
  if (!isBytes(bytes) || bytes.byteLength === 0) throw new Error('its file is missing from this browser\'s storage (deleted in another tab?).');
  return bytesOf(bytes);
}

/** Adds a new record and its file in one transaction; `add` (not `put`) so an id clash fails instead of overwriting. */
export async function addPersonalization(record: NewPersonalization): Promise<void> {
  const db = await openDb();
  const tx = db.transaction([STORE, FILES], 'readwrite');
  tx.objectStore(STORE).add(toStored(withoutFile(record)));
  tx.objectStore(FILES).add(copyBuffer(record.weightsFile), record.id);
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
  store.put({ ...raw, name });
  await transactionDone(tx);
  announceChange();
}

export async function deletePersonalization(id: string): Promise<void> {
  const db = await openDb();
  const tx = db.transaction([STORE, FILES], 'readwrite');
  tx.objectStore(STORE).delete(id);
  tx.objectStore(FILES).delete(id);
  await transactionDone(tx);
  announceChange();
}
