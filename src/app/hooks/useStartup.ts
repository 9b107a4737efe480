import { useEffect } from 'react';
import { loadDefaultPack } from '../actions';
import { loadLibrary } from '../libraryActions';
import { watchLastActive } from '../restoreLastActive';

/**
 * Loads the embedded pack and the saved personalizations once when the app mounts, and switches
 * the personalization that was in use back on (all idempotent, so StrictMode's double effect is
 * harmless).
 */
export function useStartup(): void {
  useEffect(() => {
    watchLastActive();
    void loadDefaultPack();
    void loadLibraryOnce();
  }, []);
}

let library: Promise<void> | undefined;

function loadLibraryOnce(): Promise<void> {
  library ??= loadLibrary();
  return library;
}
