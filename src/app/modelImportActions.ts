// "Add a model from a file…": the page's side. The worker converts the checkpoint and writes
// the pack into OPFS; here the list of stored packs is read, the import's progress kept in the
// store, the new pack loaded, and "Delete" frees a stored pack's space.
import type { ImportCheckpointOptions } from '../../workers/api';
import { deleteStoredPack, listStoredPacks, storedPackId } from '../packs/storedPacks';
import { loadPackEntry } from './actions';
import { PACK_CHOICE_KEY, readPackChoice, savePackChoice } from './packChoice';
import { formatMegabytes } from './statusText';
import { useAppStore } from './store';
import { errorText } from './taskRunner';
import { getWorkerClient } from './workerClient';

export const CHECKPOINT_ACCEPT = '.safetensors,.ckpt,.pt,.pth,.bin';

/** Reads the stored packs into the store (an empty list where OPFS is unavailable). */
export async function refreshStoredPacks(): Promise<void> {
  try {
    useAppStore.getState().setStoredPacks(await listStoredPacks());
  } catch {
    useAppStore.getState().setStoredPacks([]);
  }
}

/** "Image size" as typed: a whole number of pixels, or the reason it is not. */
export function parseImageSize(text: string): number | string {
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 8 || n > 2048) return `Image size "${text}": give a whole number of pixels, e.g. 512 (SD1.5's size)`;
  return n;
}

/**
 * Converts `file` in the worker into a stored pack, then loads it and makes it the pack choice.
 * A refusal or failure is shown in the import panel with the checkpoint error's own message.
 */
export async function importCheckpointFile(file: File, options: ImportCheckpointOptions): Promise<void> {
  const store = useAppStore.getState();
  if (store.task || store.pack.phase === 'loading' || store.pack.phase === 'listing') return;
  const fileName = file.name;
  store.setError(null);
  store.setTask('add-model');
  store.setModelImport({ fileName, phase: 'running' });
  let added: { id: string; name: string; manifestUrl: string } | undefined;
  try {
    const result = await getWorkerClient().importCheckpoint(file, options, (progress) => {
      const s = useAppStore.getState();
      if (s.modelImport?.phase === 'running') s.setModelImport({ ...s.modelImport, progress });
    });
    added = result;
    useAppStore.getState().setModelImport({ fileName, phase: 'done', message: `Added ${result.name} (${formatMegabytes(result.bytes)} MB, stored in this browser)` });
  } catch (e) {
    const cancelled = useAppStore.getState().modelImport?.phase === 'cancelling';
    useAppStore.getState().setModelImport({ fileName, phase: cancelled ? 'cancelled' : 'failed', message: cancelled ? 'Cancelled: nothing was kept.' : errorText(e) });
  } finally {
    useAppStore.getState().setTask(null);
  }
  await refreshStoredPacks();
  if (added) {
    savePackChoice({ manifestUrl: added.manifestUrl, id: added.id, name: added.name });
    await loadPackEntry({ id: added.id, name: added.name, manifestUrl: added.manifestUrl });
  }
}

export async function cancelCheckpointImport(): Promise<void> {
  const s = useAppStore.getState();
  if (s.modelImport?.phase !== 'running') return;
  s.setModelImport({ ...s.modelImport, phase: 'cancelling' });
  await getWorkerClient().cancelImport();
}

/** Deletes a stored pack; returns what the picker says about it. The pack in use stays loaded until another is. */
export async function deleteStoredModel(manifestUrl: string): Promise<string> {
  const id = storedPackId(manifestUrl);
  if (id === undefined) return '';
  const name = useAppStore.getState().storedPacks.find((p) => p.id === id)?.name ?? id;
  const freed = await deleteStoredPack(id);
  // a choice that names a deleted pack would fail at the next visit: fall back to the site's first pack
  if (readPackChoice()?.manifestUrl === manifestUrl) {
    try {
      localStorage.removeItem(PACK_CHOICE_KEY);
    } catch {
      // storage disabled: the choice lasted for this page only anyway
    }
  }
  await refreshStoredPacks();
  return `Deleted ${name}: ${formatMegabytes(freed)} MB freed`;
}
