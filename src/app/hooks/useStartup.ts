import { useEffect } from 'react';
import { loadDefaultPack } from '../actions';
import { loadLibrary } from '../libraryActions';
import { watchLastActive } from '../restoreLastActive';
import { restoreGalleryOnce } from '../galleryPersistence';
import { restoreSelfieOnce } from '../selfieRestore';

/**
 * Loads the embedded pack, the saved personalizations, the kept photo with its crop and the kept gallery images once when the app mounts, and switches
 * the personalization that was in use back on (all idempotent, so StrictMode's double effect is
 * harmless).
 */
export function useStartup(): void {
  useEffect(() => {
    watchLastActive();
    void loadDefaultPack();
    void loadLibraryOnce();
    void restoreGalleryOnce();
    void restoreSelfieOnce();
  }, []);
}

let library: Promise<void> | undefined;

function loadLibraryOnce(): Promise<void> {
  library ??= loadLibrary();
  return library;
}
