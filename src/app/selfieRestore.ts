// Wires storage/lastSelfie.ts to the store: once per page the kept photo and crop come back
// (unless a photo was chosen meanwhile), and from then on every new photo or crop move is kept.
// Keeping is best effort: without IndexedDB the photo lives in the tab only, as before.
import { loadLastSelfie, saveLastSelfie } from './storage/lastSelfie';
import { useAppStore, type SelfieState } from './store';

/** crop drags change the selfie many times a second: write once it settles */
const SAVE_DELAY_MS = 300;

let restored: Promise<void> | undefined;

export function restoreSelfieOnce(): Promise<void> {
  restored ??= loadLastSelfie()
    .catch(() => undefined)
    .then((kept) => {
      const s = useAppStore.getState();
      if (kept && s.selfie === null) s.setSelfie(kept);
      keepSelfieChanges();
    });
  return restored;
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
