import { useEffect } from 'react';
import { loadDefaultPack } from '../actions';

/** Loads the embedded pack once when the app mounts (idempotent, so StrictMode's double effect is harmless). */
export function useStartup(): void {
  useEffect(() => {
    void loadDefaultPack();
  }, []);
}
