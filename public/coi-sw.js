// Adds the cross-origin isolation headers (COOP/COEP) to this origin's responses, for static
// hosts that cannot set headers (GitHub Pages). Registered by src/security/isolation.ts only when
// the page is not isolated already. Requests to other origins are left alone.
// Worker scripts also get their own Content-Security-Policy (a meta tag in the page does not
// reach them): the page's policy with the pack origins that the script URL's `connect` names.
// It must stay the policy of buildCsp in src/security/csp.ts (tests/e2e/builtSite checks both).

function isHttpOrigin(s) {
  try {
    const u = new URL(s);
    return /^https?:$/.test(u.protocol) && u.origin === s;
  } catch {
    return false;
  }
}

function workerCsp(url) {
  const extra = [...new Set((new URL(url).searchParams.get('connect') ?? '').split(' ').filter(isHttpOrigin))];
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    `connect-src ${["'self'", ...extra].join(' ')}`,
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
  ].join('; ');
}
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
      if (request.destination === 'worker') headers.set('Content-Security-Policy', workerCsp(request.url));
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
