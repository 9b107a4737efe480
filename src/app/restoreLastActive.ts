// Wires lastActive.ts to the store: every change of the active personalization is remembered,
// and once per page load, when the pack and the library are both loaded and nothing else was
// chosen meanwhile, the remembered one is switched back on.
import { readRememberedId, rememberId, restoreDecision } from './lastActive';
import { restoreRecord } from './libraryActions';
import { useAppStore, type AppState } from './store';

let installed = false;

export function watchLastActive(): void {
  if (installed) return;
  installed = true;
  let settled = false;
  let lastId = useAppStore.getState().active?.id ?? null;

  const check = (s: AppState) => {
    const id = s.active?.id ?? null;
    if (id !== lastId) {
      lastId = id;
      // something was chosen (or switched off) by hand before the restore: that choice wins
      settled = true;
      rememberId(id);
      return;
    }
    if (settled || s.pack.phase !== 'ready' || s.library.phase === 'loading' || s.task) return;
    settled = true;
    if (s.active) return;
    const decision = restoreDecision(readRememberedId(), s.library.records, s.pack.id);
    if (decision.action === 'forget') rememberId(null);
    else if (decision.action === 'skip') s.setWarning(decision.message);
    else if (decision.action === 'use') void restoreRecord(decision.record);
  };
  useAppStore.subscribe(check);
  check(useAppStore.getState());
}
