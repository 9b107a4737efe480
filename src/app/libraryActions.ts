// "My personalizations": the IndexedDB list, choosing one (the worker then applies it to every
// generate()), renaming, deleting, importing a .lidb.safetensors and downloading files.
import type { LidbInfo, LoraFileFormat } from '../../workers/api';
import { cleanName, nameFromFile, personalizationFileName, uniqueName } from './fileNames';
import { saveBytes } from './imageUtils';
import { loraImportSummary } from './personalizedText';
import { createRecord, lidbFields } from './records';
import {
  addPersonalization,
  deletePersonalization,
  loadPersonalizations,
  loadWeightsFile,
  onChangeInOtherTab,
  renamePersonalization,
  sha256Hex,
  StorageUnavailableError,
  storageFailureText,
  withoutFile,
  type NewPersonalization,
  type PersonalizationRecord,
} from './storage/personalizations';
import { useAppStore, type ActivePersonalization, type AppState, type LibraryState } from './store';
import { errorText, runTask } from './taskRunner';
import { getWorkerClient } from './workerClient';

const FORMAT_LABELS: Record<LoraFileFormat, string> = { lidb: 'LiDB file', kohya: 'kohya LoRA', peft: 'PEFT LoRA' };

/** LiDB files are ~100 KB at SD1.5 size; anything this big is not one. */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
/** SD1.5 LoRAs run from a few MB to a few hundred (rank 128 with convolutions). */
export const MAX_LORA_BYTES = 1024 * 1024 * 1024;

// ---- the store, as this module reads and changes it ----

/** Read fresh at each use: every action awaits the worker or IndexedDB, and the state moves meanwhile. */
const app = (): AppState => useAppStore.getState();
const findRecord = (id: string): PersonalizationRecord | undefined => app().library.records.find((r) => r.id === id);
const findFile = (sha256: string, match: (r: PersonalizationRecord) => boolean = () => true) =>
  app().library.records.find((r) => r.sha256 === sha256 && match(r));

export function takenNames(): string[] {
  return app().library.records.map((r) => r.name);
}

function updateLibrary(change: (library: LibraryState) => Partial<LibraryState>): void {
  app().setLibrary(change(app().library));
}

/** Changes the active personalization in place (not a new one: images and downloads still count) when it is record `id`. */
function patchActive(id: string, change: (active: ActivePersonalization) => ActivePersonalization): void {
  const active = app().active;
  if (active?.id === id) useAppStore.setState({ active: change(active) });
}

/** The weights stay in use in the worker; they are just no longer saved under `id`. */
const unsaveActive = (id: string) => patchActive(id, ({ id: _unsaved, ...rest }) => rest);

function thumbnailUrl(r: Pick<PersonalizationRecord, 'thumbnailPng'>): string | undefined {
  if (!r.thumbnailPng) return undefined;
  return URL.createObjectURL(new Blob([r.thumbnailPng.slice().buffer as ArrayBuffer], { type: 'image/png' }));
}

export function activeFromRecord(r: PersonalizationRecord | NewPersonalization): ActivePersonalization {
  const a: ActivePersonalization = { id: r.id, name: r.name, rank: r.rank, trigger: r.trigger, packId: r.packId, source: r.source };
  if (r.settings) a.settings = r.settings;
  if (r.stoppedEarly) a.stoppedEarly = r.stoppedEarly;
  if (r.losses) a.stepsDone = r.losses.length;
  if (r.kind === 'lora') {
    a.kind = 'lora';
    a.strength = r.strength ?? 1;
  }
  return a;
}

/**
 * Makes a saved record the worker's active weights: a LiDB file, or an imported LoRA at its
 * strength. Its file is read from IndexedDB here, the only time it is needed.
 */
async function applyRecord(record: PersonalizationRecord): Promise<void> {
  const weightsFile = await loadWeightsFile(record.id);
  if (record.kind === 'lora') await getWorkerClient().useLora(weightsFile, { strength: record.strength ?? 1 });
  else await getWorkerClient().usePersonalization(weightsFile);
  app().setActive(activeFromRecord(record));
}

/** Switches a saved record back on after a reload; a failure says so and leaves the weights off. */
export async function restoreRecord(record: PersonalizationRecord): Promise<void> {
  if (app().active || app().pack.phase !== 'ready') return;
  await runTask(
    'switch',
    { asWarning: true, failure: (why) => `"${record.name}" was in use last time but could not be switched back on: ${why}` },
    () => applyRecord(record),
  );
}

let watchingOtherTabs = false;

/** Reads the saved list (at start-up, and again whenever another tab changed it). */
export async function loadLibrary(): Promise<void> {
  if (!watchingOtherTabs) {
    watchingOtherTabs = true;
    onChangeInOtherTab(() => void loadLibrary());
  }
  try {
    const { records, skipped } = await loadPersonalizations();
    for (const url of Object.values(app().library.thumbnails)) URL.revokeObjectURL(url);
    const thumbnails: Record<string, string> = {};
    for (const r of records) {
      const url = thumbnailUrl(r);
      if (url) thumbnails[r.id] = url;
    }
    app().setLibrary({
      phase: 'ready',
      records,
      thumbnails,
      problem: skipped.length ? `${skipped.length} saved personalization(s) could not be read: ${skipped.join('; ')}` : undefined,
    });
    // deleted in another tab: its weights stay in use here, no longer saved; renamed: the new name
    const active = app().active;
    const saved = active?.id ? records.find((r) => r.id === active.id) : undefined;
    if (active?.id && !saved) unsaveActive(active.id);
    else if (saved && active && saved.name !== active.name) patchActive(saved.id, (a) => ({ ...a, name: saved.name }));
  } catch (e) {
    app().setLibrary({ phase: 'unavailable', records: [], thumbnails: {}, problem: errorText(e) });
  }
}

/**
 * Saves a new record and lists it first. Never throws: a failure leaves the personalization
 * active in this tab and says how to keep it.
 */
export async function saveRecord(record: NewPersonalization): Promise<boolean> {
  try {
    await addPersonalization(record);
  } catch (e) {
    const why = e instanceof StorageUnavailableError ? e.message : `it could not be saved in this browser (${await storageFailureText(e)}).`;
    app().setWarning(`"${record.name}" is active but ${why.replace(/^Your personalizations cannot/, 'cannot')} Download its LiDB file to keep it.`);
    unsaveActive(record.id);
    return false;
  }
  const url = thumbnailUrl(record);
  updateLibrary((library) => ({
    records: [withoutFile(record), ...library.records.filter((r) => r.id !== record.id)],
    thumbnails: url ? { ...library.thumbnails, [record.id]: url } : library.thumbnails,
  }));
  return true;
}

/** Makes a new record active and saves it (see saveRecord: a failed save keeps it active). */
export async function activateNewRecord(record: NewPersonalization, stepsDone?: number): Promise<void> {
  const active = activeFromRecord(record);
  if (stepsDone !== undefined) active.stepsDone = stepsDone;
  app().setActive(active);
  await saveRecord(record);
}

export async function selectRecord(id: string): Promise<void> {
  const record = findRecord(id);
  if (!record || app().pack.phase !== 'ready') return;
  await runTask('switch', { failure: (why) => `Could not use "${record.name}": ${why}` }, () => applyRecord(record));
}

export async function stopUsing(): Promise<void> {
  if (!app().active) return;
  await runTask('switch', { failure: (why) => `Could not switch the personalization off: ${why}` }, async () => {
    await getWorkerClient().usePersonalization(null);
    app().setActive(null);
  });
}

export async function renameRecord(id: string, input: string): Promise<boolean> {
  const name = cleanName(input);
  if (typeof name !== 'string') {
    app().setError(name.problem);
    return false;
  }
  const record = findRecord(id);
  if (!record) return false;
  if (name === record.name) return true;
  try {
    await renamePersonalization(id, name);
  } catch (e) {
    app().setError(`Could not rename "${record.name}": ${errorText(e)}`);
    return false;
  }
  updateLibrary((library) => ({ records: library.records.map((r) => (r.id === id ? { ...r, name } : r)) }));
  // Renaming must not count as a new personalization, so patch the active one in place.
  patchActive(id, (active) => ({ ...active, name }));
  return true;
}

export async function deleteRecord(id: string): Promise<void> {
  const record = findRecord(id);
  if (!record) return;
  try {
    await deletePersonalization(id);
  } catch (e) {
    app().setError(`Could not delete "${record.name}": ${errorText(e)}`);
    return;
  }
  updateLibrary((library) => {
    const url = library.thumbnails[id];
    if (url) URL.revokeObjectURL(url);
    const { [id]: _gone, ...thumbnails } = library.thumbnails;
    return { records: library.records.filter((r) => r.id !== id), thumbnails };
  });
  // The weights stay active in the worker until another is chosen; they are just no longer saved.
  unsaveActive(id);
}

/** Why a file cannot be imported before reading it, when it cannot. */
function importRefusal(file: File, maxBytes: number, tooLarge: string): string | undefined {
  if (app().pack.phase !== 'ready') return 'the model pack is not loaded yet.';
  if (file.size === 0) return 'the file is empty.';
  if (file.size > maxBytes) return `${(file.size / 1e6).toFixed(0)} MB is far too large for ${tooLarge}.`;
  return undefined;
}

/**
 * Checks the file in the worker against the active pack first; only a file that passed is
 * saved and made active, so a wrong or damaged file changes nothing.
 */
export async function importLidbFile(file: File): Promise<void> {
  const failure = (why: string) => `Could not import ${file.name}: ${why}`;
  const refused = importRefusal(file, MAX_IMPORT_BYTES, 'a LiDB file');
  await runTask('import', { failure, clearWarning: true, refusal: refused && failure(refused) }, async () => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const info: LidbInfo | null = await getWorkerClient().usePersonalization(bytes);
    if (!info) throw new Error('the worker accepted no personalization');
    const existing = findFile(await sha256Hex(bytes));
    if (existing) {
      app().setActive(activeFromRecord(existing));
      app().setWarning(`${file.name} is already saved as "${existing.name}": using that one.`);
      return;
    }
    const named = info.name?.trim() ? cleanName(info.name) : undefined;
    const record = await createRecord({
      ...lidbFields(info),
      name: uniqueName(typeof named === 'string' ? named : nameFromFile(file.name), takenNames()),
      source: 'import',
      weightsFile: bytes,
    });
    await activateNewRecord(record, info.stepsDone);
  });
}

export interface LoraImportOutcome {
  /** one line: format, strength, layers applied, modules ignored */
  summary: string;
  warnings: string[];
}

/**
 * An existing kohya / PEFT LoRA into the slots, in place of the active personalization. Like a
 * LiDB import, the worker checks it first: a file that does not fit changes nothing. A LoRA that
 * applied is saved (its bytes and strength) so it survives a reload like a personalization.
 */
export async function importLoraFile(file: File, strength: number): Promise<LoraImportOutcome | undefined> {
  const failure = (why: string) => `Could not import ${file.name} as a LoRA: ${why}`;
  const refused = importRefusal(file, MAX_LORA_BYTES, 'an SD1.5 LoRA') ?? (Number.isFinite(strength) ? undefined : `the strength ${strength} is not a number.`);
  return runTask('import', { failure, clearWarning: true, refusal: refused && failure(refused) }, async () => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const result = await getWorkerClient().useLora(bytes, { strength });
    const outcome: LoraImportOutcome = { summary: loraImportSummary(result, strength, result.layers), warnings: result.warnings };
    const existing = findFile(await sha256Hex(bytes), (r) => r.kind === 'lora' && (r.strength ?? 1) === strength);
    if (existing) {
      app().setActive(activeFromRecord(existing));
      return outcome;
    }
    const record = await createRecord({
      name: uniqueName(nameFromFile(file.name, 'Imported LoRA'), takenNames()),
      packId: app().pack.id ?? '',
      trigger: '',
      rank: Math.max(1, result.rank),
      source: 'import',
      kind: 'lora',
      strength,
      weightsFile: bytes,
    });
    await activateNewRecord(record);
    return outcome;
  });
}

export async function downloadPersonalization(format: LoraFileFormat): Promise<void> {
  const active = app().active;
  if (!active) return;
  await runTask('export', { failure: (why) => `Could not make the ${FORMAT_LABELS[format]}: ${why}` }, async () => {
    const bytes = await getWorkerClient().exportPersonalization(format);
    saveBytes(bytes, personalizationFileName(active.name, format));
    app().setDownloaded(true);
  });
}
