// "My personalizations": the IndexedDB list, choosing one (the worker then applies it to every
// generate()), renaming, deleting, importing a .lidb.safetensors and downloading files.
import type { LoraFileFormat, UseLoraResult } from '../../workers/api';
import { errorText } from './actions';
import { cleanName, nameFromFile, personalizationFileName, uniqueName } from './fileNames';
import { saveBytes } from './imageUtils';
import { loraImportSummary, stepsDoneFromMeta } from './personalizedText';
import {
  addPersonalization,
  deletePersonalization,
  loadPersonalizations,
  newRecordId,
  renamePersonalization,
  sha256Hex,
  StorageUnavailableError,
  type PersonalizationRecord,
} from './storage/personalizations';
import { useAppStore, type ActivePersonalization } from './store';
import { getWorkerClient } from './workerClient';

const FORMAT_LABELS: Record<LoraFileFormat, string> = { lidb: 'LiDB file', kohya: 'kohya LoRA', peft: 'PEFT LoRA' };

/** LiDB files are ~100 KB at SD1.5 size; anything this big is not one. */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
/** SD1.5 LoRAs run from a few MB to a few hundred (rank 128 with convolutions). */
export const MAX_LORA_BYTES = 1024 * 1024 * 1024;

function thumbnailUrl(r: PersonalizationRecord): string | undefined {
  if (!r.thumbnailPng) return undefined;
  return URL.createObjectURL(new Blob([r.thumbnailPng.slice().buffer as ArrayBuffer], { type: 'image/png' }));
}

export function activeFromRecord(r: PersonalizationRecord): ActivePersonalization {
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

/** Makes a saved record the worker's active weights: a LiDB file, or an imported LoRA at its strength. */
async function applyRecord(record: PersonalizationRecord): Promise<void> {
  if (record.kind === 'lora') await getWorkerClient().useLora(record.lidb, { strength: record.strength ?? 1 });
  else await getWorkerClient().usePersonalization(record.lidb);
}

/** Switches a saved record back on after a reload; a failure says so and leaves the weights off. */
export async function restoreRecord(record: PersonalizationRecord): Promise<void> {
  const store = useAppStore.getState();
  if (store.task || store.active || store.pack.phase !== 'ready') return;
  store.setTask('switch');
  try {
    await applyRecord(record);
    useAppStore.getState().setActive(activeFromRecord(record));
  } catch (e) {
    useAppStore.getState().setWarning(`"${record.name}" was in use last time but could not be switched back on: ${errorText(e)}`);
  } finally {
    useAppStore.getState().setTask(null);
  }
}

export async function loadLibrary(): Promise<void> {
  const { setLibrary } = useAppStore.getState();
  try {
    const { records, skipped } = await loadPersonalizations();
    const thumbnails: Record<string, string> = {};
    for (const r of records) {
      const url = thumbnailUrl(r);
      if (url) thumbnails[r.id] = url;
    }
    setLibrary({
      phase: 'ready',
      records,
      thumbnails,
      problem: skipped.length ? `${skipped.length} saved personalization(s) could not be read: ${skipped.join('; ')}` : undefined,
    });
  } catch (e) {
    setLibrary({ phase: 'unavailable', records: [], thumbnails: {}, problem: errorText(e) });
  }
}

/**
 * Saves a new record and lists it first. Never throws: a failure leaves the personalization
 * active in this tab and says how to keep it.
 */
export async function saveRecord(record: PersonalizationRecord): Promise<boolean> {
  try {
    await addPersonalization(record);
  } catch (e) {
    const why = e instanceof StorageUnavailableError ? e.message : `it could not be saved in this browser (${errorText(e)})`;
    useAppStore.getState().setWarning(`"${record.name}" is active but ${why.replace(/^Your personalizations cannot/, 'cannot')} Download its LiDB file to keep it.`);
    const active = useAppStore.getState().active;
    if (active?.id === record.id) {
      const { id: _unsaved, ...rest } = active;
      useAppStore.setState({ active: rest });
    }
    return false;
  }
  const { library, setLibrary } = useAppStore.getState();
  const url = thumbnailUrl(record);
  setLibrary({
    records: [record, ...library.records.filter((r) => r.id !== record.id)],
    thumbnails: url ? { ...library.thumbnails, [record.id]: url } : library.thumbnails,
  });
  return true;
}

export function takenNames(): string[] {
  return useAppStore.getState().library.records.map((r) => r.name);
}

export async function selectRecord(id: string): Promise<void> {
  const store = useAppStore.getState();
  const record = store.library.records.find((r) => r.id === id);
  if (!record || store.task || store.pack.phase !== 'ready') return;
  store.setError(null);
  store.setTask('switch');
  try {
    await applyRecord(record);
    useAppStore.getState().setActive(activeFromRecord(record));
  } catch (e) {
    useAppStore.getState().setError(`Could not use "${record.name}": ${errorText(e)}`);
  } finally {
    useAppStore.getState().setTask(null);
  }
}

export async function stopUsing(): Promise<void> {
  const store = useAppStore.getState();
  if (!store.active || store.task) return;
  store.setTask('switch');
  try {
    await getWorkerClient().usePersonalization(null);
    useAppStore.getState().setActive(null);
  } catch (e) {
    useAppStore.getState().setError(`Could not switch the personalization off: ${errorText(e)}`);
  } finally {
    useAppStore.getState().setTask(null);
  }
}

export async function renameRecord(id: string, input: string): Promise<boolean> {
  const store = useAppStore.getState();
  const name = cleanName(input);
  if (typeof name !== 'string') {
    store.setError(name.problem);
    return false;
  }
  const record = store.library.records.find((r) => r.id === id);
  if (!record) return false;
  if (name === record.name) return true;
  try {
    await renamePersonalization(id, name);
  } catch (e) {
    store.setError(`Could not rename "${record.name}": ${errorText(e)}`);
    return false;
  }
  const s = useAppStore.getState();
  s.setLibrary({ records: s.library.records.map((r) => (r.id === id ? { ...r, name } : r)) });
  // Renaming must not count as a new personalization, so patch the active one in place.
  if (s.active?.id === id) useAppStore.setState({ active: { ...s.active, name } });
  return true;
}

export async function deleteRecord(id: string): Promise<void> {
  const store = useAppStore.getState();
  const record = store.library.records.find((r) => r.id === id);
  if (!record) return;
  try {
    await deletePersonalization(id);
  } catch (e) {
    store.setError(`Could not delete "${record.name}": ${errorText(e)}`);
    return;
  }
  const s = useAppStore.getState();
  const url = s.library.thumbnails[id];
  if (url) URL.revokeObjectURL(url);
  const thumbnails = { ...s.library.thumbnails };
  delete thumbnails[id];
  s.setLibrary({ records: s.library.records.filter((r) => r.id !== id), thumbnails });
  // The weights stay active in the worker until another is chosen; they are just no longer saved.
  if (s.active?.id === id) {
    const { id: _dropped, ...unsaved } = s.active;
    useAppStore.setState({ active: unsaved });
  }
}

function settingsFromMeta(meta: Record<string, string>): PersonalizationRecord['settings'] {
  try {
    const ft = JSON.parse(meta.fine_tune ?? '') as Record<string, unknown>;
    const steps = Number(ft.steps);
    const learningRate = Number(ft.learningRate ?? ft.learning_rate);
    const rank = Number(ft.rank ?? meta.rank);
    const seed = Number(ft.seed ?? meta.seed);
    if ([steps, learningRate, rank, seed].every(Number.isFinite)) return { steps, learningRate, rank, seed };
  } catch {
    // an imported file without readable settings simply shows none
  }
  return undefined;
}

/**
 * Checks the file in the worker against the active pack first; only a file that passed is
 * saved and made active, so a wrong or damaged file changes nothing.
 */
export async function importLidbFile(file: File): Promise<void> {
  const store = useAppStore.getState();
  if (store.task) return;
  store.setError(null);
  store.setWarning(null);
  if (store.pack.phase !== 'ready') {
    store.setError(`Could not import ${file.name}: the model pack is not loaded yet.`);
    return;
  }
  if (file.size === 0 || file.size > MAX_IMPORT_BYTES) {
    store.setError(`Could not import ${file.name}: ${file.size === 0 ? 'the file is empty' : `${(file.size / 1e6).toFixed(0)} MB is far too large for a LiDB file`}.`);
    return;
  }
  store.setTask('import');
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const result = await getWorkerClient().usePersonalization(bytes);
    if (!result) throw new Error('the worker accepted no personalization');
    const sha256 = await sha256Hex(bytes);
    const existing = useAppStore.getState().library.records.find((r) => r.sha256 === sha256);
    if (existing) {
      useAppStore.getState().setActive(activeFromRecord(existing));
      useAppStore.getState().setWarning(`${file.name} is already saved as "${existing.name}": using that one.`);
      return;
    }
    const meta = result.meta;
    const name = uniqueName(meta.name?.trim() ? (cleanName(meta.name) as string) : nameFromFile(file.name), takenNames());
    const record: PersonalizationRecord = {
      id: newRecordId(),
      name,
      createdAt: Date.now(),
      packId: meta.pack_id ?? useAppStore.getState().pack.id ?? '',
      trigger: meta.trigger ?? useAppStore.getState().pack.trigger ?? '',
      rank: result.rank,
      source: 'import',
      lidb: bytes,
      sha256,
    };
    const settings = settingsFromMeta(meta);
    if (settings) record.settings = settings;
    const { stepsDone, stoppedEarly } = stepsDoneFromMeta(meta.fine_tune);
    if (stoppedEarly) record.stoppedEarly = stoppedEarly;
    const active = activeFromRecord(record);
    if (stepsDone !== undefined) active.stepsDone = stepsDone;
    useAppStore.getState().setActive(active);
    await saveRecord(record);
  } catch (e) {
    useAppStore.getState().setError(`Could not import ${file.name}: ${errorText(e)}`);
  } finally {
    useAppStore.getState().setTask(null);
  }
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
  const store = useAppStore.getState();
  if (store.task) return undefined;
  store.setError(null);
  store.setWarning(null);
  const fail = (why: string) => {
    useAppStore.getState().setError(`Could not import ${file.name} as a LoRA: ${why}`);
    return undefined;
  };
  if (store.pack.phase !== 'ready') return fail('the model pack is not loaded yet.');
  if (file.size === 0) return fail('the file is empty.');
  if (file.size > MAX_LORA_BYTES) return fail(`${(file.size / 1e6).toFixed(0)} MB is far too large for an SD1.5 LoRA.`);
  if (!Number.isFinite(strength)) return fail(`the strength ${strength} is not a number.`);
  store.setTask('import');
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const result: UseLoraResult = await getWorkerClient().useLora(bytes, { strength });
    const outcome: LoraImportOutcome = { summary: loraImportSummary(result, strength, result.layers), warnings: result.warnings };
    const sha256 = await sha256Hex(bytes);
    const existing = useAppStore.getState().library.records.find((r) => r.sha256 === sha256 && r.kind === 'lora' && (r.strength ?? 1) === strength);
    if (existing) {
      useAppStore.getState().setActive(activeFromRecord(existing));
      return outcome;
    }
    const record: PersonalizationRecord = {
      id: newRecordId(),
      name: uniqueName(nameFromFile(file.name, 'Imported LoRA'), takenNames()),
      createdAt: Date.now(),
      packId: useAppStore.getState().pack.id ?? '',
      trigger: '',
      rank: Math.max(1, result.rank),
      source: 'import',
      kind: 'lora',
      strength,
      lidb: bytes,
      sha256,
    };
    useAppStore.getState().setActive(activeFromRecord(record));
    await saveRecord(record);
    return outcome;
  } catch (e) {
    return fail(errorText(e));
  } finally {
    useAppStore.getState().setTask(null);
  }
}

export async function downloadPersonalization(format: LoraFileFormat): Promise<void> {
  const store = useAppStore.getState();
  const active = store.active;
  if (!active || store.task) return;
  store.setError(null);
  store.setTask('export');
  try {
    const bytes = await getWorkerClient().exportPersonalization(format);
    saveBytes(bytes, personalizationFileName(active.name, format));
    useAppStore.getState().setDownloaded(true);
  } catch (e) {
    useAppStore.getState().setError(`Could not make the ${FORMAT_LABELS[format]}: ${errorText(e)}`);
  } finally {
    useAppStore.getState().setTask(null);
  }
}
