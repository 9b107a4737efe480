// Adds the cross-origin isolation headers (COOP/COEP) to this origin's responses, for static
// hosts that cannot set headers (GitHub Pages). Registered by src/security/isolation.ts only when
// the page is not isolated already. Requests to other origins are left alone.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (new URL(request.url).origin !== self.location.origin) return;
  // a devtools quirk: only-if-cached outside same-origin mode throws
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(
    fetch(request).then((response) => {
      // opaque and error responses cannot be rebuilt; a Range answer (206) keeps its status
      if (response.status === 0) return response;
      const headers = new Headers(response.headers);
      headers.set('Cross-Origin-Opener-Policy', 'same-origin');
      headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
      headers.set('Cross-Origin-Resource-Policy', 'same-origin');
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
