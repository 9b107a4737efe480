// The Personalize button: the confirmed crop → hypernetwork → fine-tune in the worker, with
// progress and the loss streamed back. The result becomes the active personalization and is
// saved at once, so nothing is lost to a reload afterwards.
import type { PersonalizeResult } from '../../workers/api';
import { errorText } from './actions';
import { nameFromFile, uniqueName } from './fileNames';
import { rgbaToPngBlob } from './imageUtils';
import { activeFromRecord, saveRecord, takenNames } from './libraryActions';
import { buildFineTuneSettings } from './request';
import { stepSectionId } from './hooks/useFlow';
import { newRecordId, sha256Hex, type PersonalizationRecord } from './storage/personalizations';
import { useAppStore, type PersonalizeRun } from './store';
import { getWorkerClient } from './workerClient';

/** How the run ended, in words, when it did not run every step. */
export function outcomeOf(result: Pick<PersonalizeResult, 'stoppedEarly' | 'losses'>, steps: number): PersonalizeRun['outcome'] {
  const why = result.stoppedEarly;
  if (!why) return undefined;
  const done = result.losses.length;
  if (/^cancel/i.test(why)) {
    return {
      kind: 'cancelled',
      message: `Cancelled after ${done} of ${steps} fine-tune steps: the weights from the last finished step are kept.`,
    };
  }
  return { kind: 'stopped-early', message: `The fine-tune stopped early (${why}). The last good weights are kept.` };
}

async function pngBytes(t: PersonalizeResult['thumbnail']): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await (await rgbaToPngBlob(t.rgba, t.width, t.height)).arrayBuffer());
  } catch {
    // A missing thumbnail is cosmetic; the weights matter.
    return undefined;
  }
}

/** On a phone the styles are far below the fine-tune: bring them into view once they apply. */
function revealStyles(): void {
  requestAnimationFrame(() => document.getElementById(stepSectionId('styles'))?.scrollIntoView({ behavior: 'smooth', block: 'nearest' }));
}

export async function startPersonalize(): Promise<void> {
  const store = useAppStore.getState();
  const selfie = store.selfie;
  if (store.task || store.pack.phase !== 'ready' || !selfie?.confirmed) return;
  const settings = buildFineTuneSettings(store.fineTune);
  if (typeof settings === 'string') {
    store.setError(settings);
    return;
  }
  store.setError(null);
  store.setWarning(null);
  store.setTask('personalize');
  store.setRun({ progress: null, losses: [], cancelling: false, steps: settings.steps });
  try {
    const result = await getWorkerClient().personalize(
      { rgba: selfie.rgba, width: selfie.width, height: selfie.height, crop: selfie.current },
      settings,
      (p) => {
        const s = useAppStore.getState();
        if (!s.run) return;
        const losses = p.stage === 'fine-tune' && p.loss !== undefined && p.step >= 1 ? [...s.run.losses.slice(0, p.step - 1), p.loss] : s.run.losses;
        s.updateRun({ progress: p, losses });
      },
    );
    // WebGPU can fail mid-fine-tune; the worker then reran it on WASM and says so.
    if (result.backend && result.backend !== useAppStore.getState().backend) {
      useAppStore.getState().setBackend(result.backend, result.notice ?? useAppStore.getState().backendNotice);
    }
    useAppStore.getState().updateRun({
      losses: result.losses,
      outcome: outcomeOf(result, settings.steps),
      cancelling: false,
      progress: { stage: 'done', step: result.losses.length, steps: settings.steps, etaMs: 0 },
    });
    // personalize() already made them active; asking again returns the file's metadata as read back.
    const applied = await getWorkerClient().usePersonalization(result.lidb);
    const pack = useAppStore.getState().pack;
    const record: PersonalizationRecord = {
      id: newRecordId(),
      name: uniqueName(nameFromFile(selfie.fileName), takenNames()),
      createdAt: Date.now(),
      packId: applied?.meta.pack_id ?? pack.id ?? '',
      trigger: applied?.meta.trigger ?? pack.trigger ?? '',
      rank: applied?.rank ?? result.settings.rank,
      source: 'fine-tune',
      lidb: result.lidb,
      sha256: await sha256Hex(result.lidb),
      settings: result.settings,
      losses: result.losses,
    };
    const thumb = await pngBytes(result.thumbnail);
    if (thumb) record.thumbnailPng = thumb;
    if (result.stoppedEarly) record.stoppedEarly = result.stoppedEarly;
    useAppStore.getState().setActive(activeFromRecord(record));
    revealStyles();
    await saveRecord(record);
  } catch (e) {
    useAppStore.getState().setError(`Personalization failed: ${errorText(e)}`);
    useAppStore.getState().updateRun({ cancelling: false });
  } finally {
    useAppStore.getState().setTask(null);
  }
}

export async function cancelPersonalize(): Promise<void> {
  const store = useAppStore.getState();
  if (store.task !== 'personalize' || store.run?.cancelling) return;
  store.updateRun({ cancelling: true });
  try {
    await getWorkerClient().cancelPersonalize();
  } catch (e) {
    useAppStore.getState().setError(`Could not cancel: ${errorText(e)}`);
    useAppStore.getState().updateRun({ cancelling: false });
  }
}
