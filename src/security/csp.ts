// The page's Content-Security-Policy. Scripts and workers come from this origin only; WebAssembly
// (onnxruntime-web) needs 'wasm-unsafe-eval', never 'unsafe-eval'. connect-src is this origin plus
// the origins of the pack URLs the person added, which is why the policy is written at start-up
// from what this browser remembers (see src/boot.ts and the README's "Security headers") rather
// than fixed at build time: a static file cannot know which pack servers a person will use.

/** localStorage key: the origins of pack URLs this person chose, as a JSON array of strings. */
export const PACK_ORIGINS_KEY = 'hyperbooth.packOrigins';

type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem'>;

/** The policy with `packOrigins` added to connect-src (each an http(s) origin, nothing else). */
export function buildCsp(packOrigins: readonly string[] = []): string {
  const extra = [...new Set(packOrigins.filter(isHttpOrigin))];
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    // the model worker, and onnxruntime-web's thread pool, which starts its workers from its own
    // /ort/*.mjs (`new Worker(new URL(import.meta.url))`), never from blob: URLs
    "worker-src 'self'",
    `connect-src ${["'self'", ...extra].join(' ')}`,
    // generated images and the favicon are blob: and data: URLs
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
  ].join('; ');
}

function isHttpOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return /^https?:$/.test(u.protocol) && u.origin === s;
  } catch {
    return false;
  }
}

/**
 * The model worker's own policy. A meta tag governs only its document: a worker's policy comes
 * from its script's response headers. So the page starts the worker with the pack origins in
 * its script URL (`?connect=`), and whatever serves the script (the service worker public/coi-sw.js
 * on header-less hosts, the preview server's middleware in vite.config.ts) answers with
 * `Content-Security-Policy: buildCsp(those origins)`.
 */
export const WORKER_CONNECT_PARAM = 'connect';

/** The worker script's URL with this page's pack origins in it. */
export function workerScriptUrl(scriptUrl: string, base: string, packOrigins: readonly string[]): URL {
  const url = new URL(scriptUrl, base);
  const origins = packOrigins.filter(isHttpOrigin);
  if (origins.length) url.searchParams.set(WORKER_CONNECT_PARAM, origins.join(' '));
  return url;
}

/** The policy for a worker script request: the pack origins its URL names (anything else in it is ignored). */
export function workerCsp(requestUrl: string): string {
  const param = new URL(requestUrl, 'http://localhost/').searchParams.get(WORKER_CONNECT_PARAM) ?? '';
  return buildCsp(param.split(' '));
}

export function readPackOrigins(storage: Storage): string[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(PACK_ORIGINS_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((o): o is string => typeof o === 'string' && isHttpOrigin(o)) : [];
  } catch {
    return [];
  }
}

/** Whether this page's policy (written at start-up from `storage`) lets it fetch `url`. */
export function packOriginAllowed(storage: Storage, url: string, pageOrigin: string): boolean {
  const { origin } = new URL(url);
  return origin === pageOrigin || readPackOrigins(storage).includes(origin);
}

/**
 * Remembers the origin of a pack URL the person chose. Returns true when the origin is new to
 * this browser and not the page's own: the running page's policy does not allow it (a policy
 * can be tightened but never loosened in a running document), so the page must reload to use it.
 */
export function rememberPackOrigin(storage: Storage, packUrl: string, pageOrigin: string): boolean {
  if (packOriginAllowed(storage, packUrl, pageOrigin)) return false;
  const { origin } = new URL(packUrl);
  const known = readPackOrigins(storage);
  try {
    storage.setItem(PACK_ORIGINS_KEY, JSON.stringify([...known, origin]));
  } catch {
    // storage refused: the reload would not help either, so the load is tried (and the CSP says why it fails)
    return false;
  }
  return true;
}
