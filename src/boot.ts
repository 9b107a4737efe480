// Runs before the app in a built site: writes the Content-Security-Policy for this visit and,
// where the host sends no COOP/COEP headers (GitHub Pages), gets cross-origin isolation from a
// service worker. The dev server skips both: Vite's inline react-refresh preamble and its
// module graph need what the policy forbids, and it sends the isolation headers itself.
import { buildCsp, readPackOrigins } from './security/csp';
import { registerIsolationWorker } from './security/isolation';

if (import.meta.env.PROD) {
  const meta = document.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = buildCsp(safeOrigins());
  document.head.prepend(meta);
  registerIsolationWorker(`${import.meta.env.BASE_URL}coi-sw.js`);
}

function safeOrigins(): string[] {
  try {
    return readPackOrigins(localStorage);
  } catch {
    return []; // storage disabled: this origin only
  }
}
