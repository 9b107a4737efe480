// Cross-origin isolation (SharedArrayBuffer, so multithreaded WASM) needs the COOP/COEP headers
// on the page. Hosts that cannot set headers get them from public/coi-sw.js, which adds them to
// this origin's responses; it is registered only when the page is not isolated already.

/** sessionStorage flag: the page reloaded once to come under the service worker. */
const RELOADED_KEY = 'hyperbooth.coiReload';

export function registerIsolationWorker(scriptUrl: string): void {
  if (globalThis.crossOriginIsolated) {
    sessionStorage.removeItem(RELOADED_KEY);
    return;
  }
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register(scriptUrl).then(
    async () => {
      await navigator.serviceWorker.ready;
      // this document's own headers came before the worker: one reload brings it under it. A
      // page still not isolated after that reload stays as it is (a browser that ignores the headers).
      if (sessionStorage.getItem(RELOADED_KEY)) return;
      sessionStorage.setItem(RELOADED_KEY, '1');
      location.reload();
    },
    (e: unknown) => console.warn(`HyperBooth: no service worker for cross-origin isolation (${(e as Error).message}); WASM runs single-threaded`),
  );
}
