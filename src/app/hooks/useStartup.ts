import { useEffect } from 'react';
import { loadDefaultPack } from '../actions';
import { loadLibrary } from '../libraryActions';

/**
 * Loads the embedded pack and the saved personalizations once when the app mounts (both
 * idempotent, so StrictMode's double effect is harmless).
 */
export function useStartup(): void {
  useEffect(() => {
    void loadDefaultPack();
    void loadLibraryOnce();
  }, []);
}

let library: Promise<void> | undefined;

function loadLibraryOnce(): Promise<void> {
  library ??= loadLibrary();
  return library;
}
