// The Personalize button: the confirmed crop → hypernetwork → fine-tune in the worker, with
// progress and the loss streamed back. The result becomes the active personalization and is
// saved at once, so nothing is lost to a reload afterwards.
import type { FineTuneSettings, PersonalizeResult } from '../../workers/api';
import { nameFromFile, uniqueName } from './fileNames';
import { rgbaToPngBlob } from './imageUtils';
import { activateNewRecord, takenNames } from './libraryActions';
import { createRecord, lidbFields } from './records';
import { buildFineTuneSettings } from './request';
import { stepSectionId } from './hooks/useFlow';
import { keepRunStart, runEnded } from './selfieRestore';
import { useAppStore, type AppState, type PersonalizeRun, type SelfieState } from './store';
import { errorText, runTask } from './taskRunner';
import { getWorkerClient } from './workerClient';

const app = (): AppState => useAppStore.getState();

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

/** Fine-tune settings from the form; a pack without fine-tune graphs takes the hypernetwork's prediction as is (0 steps). */
function settingsFor(fields: AppState['fineTune'], pack: AppState['pack']): FineTuneSettings | string {
  const canFineTune = pack.personalize?.fineTune ?? true;
  return buildFineTuneSettings(canFineTune ? fields : { ...fields, steps: '0' });
}

export async function startPersonalize(): Promise<void> {
  const { selfie, pack, fineTune } = app();
  if (pack.phase !== 'ready' || !selfie?.confirmed) return;
  const settings = settingsFor(fineTune, pack);
  await runTask(
    'personalize',
    {
      failure: (why) => `Personalization failed: ${why}`,
      refusal: typeof settings === 'string' ? settings : undefined,
      clearWarning: true,
      onFailure: () => app().updateRun({ cancelling: false }),
    },
    async () => {
      app().setResumedRun(false);
      // a reload before the run ends brings the photo, crop and these settings back
      if (pack.id) await keepRunStart(selfie, { fineTune, packId: pack.id });
      try {
        await personalizeWith(selfie, settings as FineTuneSettings);
      } finally {
        runEnded();
      }
    },
  );
}

async function personalizeWith(selfie: SelfieState, settings: FineTuneSettings): Promise<void> {
  app().setRun({ progress: null, losses: [], cancelling: false, steps: settings.steps });
  const result = await getWorkerClient().personalize(
    { rgba: selfie.rgba, width: selfie.width, height: selfie.height, crop: selfie.current },
    settings,
    (p) => {
      const run = app().run;
      if (!run) return;
      const losses = p.stage === 'fine-tune' && p.loss !== undefined && p.step >= 1 ? [...run.losses.slice(0, p.step - 1), p.loss] : run.losses;
      app().updateRun({ progress: p, losses });
    },
  );
  // WebGPU can fail mid-fine-tune; the worker then reran it on WASM and says so.
  if (result.backend && result.backend !== app().backend) app().setBackend(result.backend, result.notice ?? app().backendNotice);
  app().updateRun({
    losses: result.losses,
    outcome: outcomeOf(result, settings.steps),
    cancelling: false,
    progress: { stage: 'done', step: result.losses.length, steps: settings.steps, etaMs: 0 },
  });
  const record = await createRecord({
    ...lidbFields(result.info),
    name: uniqueName(nameFromFile(selfie.fileName), takenNames()),
    source: 'fine-tune',
    weightsFile: result.lidb,
    settings: result.settings,
    losses: result.losses,
    stoppedEarly: result.stoppedEarly,
    thumbnailPng: await pngBytes(result.thumbnail),
  });
  revealStyles();
  await activateNewRecord(record);
}

export async function cancelPersonalize(): Promise<void> {
  if (app().task !== 'personalize' || app().run?.cancelling) return;
  app().updateRun({ cancelling: true });
  try {
    await getWorkerClient().cancelPersonalize();
  } catch (e) {
    app().setError(`Could not cancel: ${errorText(e)}`);
    app().updateRun({ cancelling: false });
  }
}
