// Wires storage/lastSelfie.ts to the store: once per page the kept photo and crop come back
// (unless a photo was chosen meanwhile), and from then on every new photo or crop move is kept.
// A personalize keeps its settings there too while it runs; when a reload interrupted one, they
// go back into the Personalize form (once the pack is loaded, over the pack's defaults) with a
// note, so the person can press Personalize again.
// Keeping is best effort: without IndexedDB the photo lives in the tab only, as before.
import { forgetStartedRun, loadLastSelfie, loadStartedRun, saveLastSelfie, saveStartedRun, type StartedRun } from './storage/lastSelfie';
import { useAppStore, type AppState, type SelfieState } from './store';

/** crop drags change the selfie many times a second: write once it settles */
const SAVE_DELAY_MS = 300;

let restored: Promise<void> | undefined;

export function restoreSelfieOnce(): Promise<void> {
  restored ??= Promise.all([loadLastSelfie().catch(() => undefined), loadStartedRun().catch(() => undefined)]).then(([kept, run]) => {
    const s = useAppStore.getState();
    if (kept && s.selfie === null) {
      s.setSelfie(kept);
      if (run) putBackWhenPackReady(kept, run);
    }
    keepSelfieChanges();
  });
  return restored;
}

/**
 * The interrupted run's settings, once its pack is loaded: after loadPackEntry put the pack's
 * defaults into the form, so these win. Only while the photo is still the run's own.
 */
function putBackWhenPackReady(selfie: SelfieState, run: StartedRun): void {
  const check = (s: AppState): boolean => {
    if (s.pack.phase !== 'ready') return false;
    setTimeout(() => {
      const now = useAppStore.getState();
      if (now.pack.id !== run.packId || now.selfie !== selfie || now.task === 'personalize') return;
      now.setFineTune(run.fineTune);
      now.setResumedRun(true);
    }, 0);
    return true;
  };
  if (check(useAppStore.getState())) return;
  const stop = useAppStore.subscribe((s) => {
    if (check(s)) stop();
  });
}

/** At Personalize: the photo, crop and settings the run uses, kept until it ends in this tab. */
export async function keepRunStart(selfie: SelfieState, run: StartedRun): Promise<void> {
  await saveStartedRun(selfie, run).catch(() => undefined);
}

/** The run ended here (finished, cancelled or failed): nothing to put back after a reload. */
export function runEnded(): void {
  forgetStartedRun().catch(() => undefined);
}

function keepSelfieChanges(): void {
  let last: SelfieState | null = useAppStore.getState().selfie;
  let timer: ReturnType<typeof setTimeout> | undefined;
  useAppStore.subscribe((s) => {
    if (s.selfie === last) return;
    last = s.selfie;
    clearTimeout(timer);
    timer = setTimeout(() => {
      saveLastSelfie(useAppStore.getState().selfie).catch(() => {
        // not kept across a reload; the photo is still in this tab
      });
    }, SAVE_DELAY_MS);
  });
}
