// The page's Content-Security-Policy and the pack origins it allows (src/security/csp.ts).
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { buildCsp, PACK_ORIGINS_KEY, packOriginAllowed, readPackOrigins, rememberPackOrigin, workerCsp, workerScriptUrl } from '../../../src/security/csp';

class MemoryStorage {
  readonly map = new Map<string, string>();
  refuse = false;
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    if (this.refuse) throw new DOMException('Quota exceeded.', 'QuotaExceededError');
    this.map.set(k, v);
  }
}

const directive = (csp: string, name: string) => csp.split('; ').find((d) => d.startsWith(`${name} `));

describe('buildCsp', () => {
  it('allows scripts from this origin and WebAssembly only, and connections to this origin only by default', () => {
    const csp = buildCsp();
    expect(directive(csp, 'default-src')).toBe("default-src 'self'");
    expect(directive(csp, 'script-src')).toBe("script-src 'self' 'wasm-unsafe-eval'");
    expect(directive(csp, 'connect-src')).toBe("connect-src 'self'");
    expect(csp).not.toMatch(/'unsafe-eval'|'unsafe-inline'|\*/);
  });

  it('adds each pack origin once, and nothing that is not a plain http(s) origin', () => {
    const csp = buildCsp(['https://packs.example', 'https://packs.example', 'http://127.0.0.1:8080', "https://x.example 'unsafe-inline'", 'https://y.example/path', '*', 'javascript:alert(1)']);
    expect(directive(csp, 'connect-src')).toBe("connect-src 'self' https://packs.example http://127.0.0.1:8080");
  });
});

describe('pack origins', () => {
  it('remembers a new origin (a reload is needed), not the page origin nor one already known', () => {
    const s = new MemoryStorage();
    expect(rememberPackOrigin(s, 'https://packs.example/sd15/manifest.json', 'https://app.example')).toBe(true);
    expect(rememberPackOrigin(s, 'https://packs.example/other/manifest.json', 'https://app.example')).toBe(false);
    expect(rememberPackOrigin(s, 'https://app.example/models/x/manifest.json', 'https://app.example')).toBe(false);
    expect(readPackOrigins(s)).toEqual(['https://packs.example']);
    expect(packOriginAllowed(s, 'https://packs.example/any/manifest.json', 'https://app.example')).toBe(true);
    expect(packOriginAllowed(s, 'https://packs.example:8443/manifest.json', 'https://app.example')).toBe(false);
  });

  it('reads damaged or hostile storage as no origins', () => {
    const s = new MemoryStorage();
    s.map.set(PACK_ORIGINS_KEY, '{not json');
    expect(readPackOrigins(s)).toEqual([]);
    s.map.set(PACK_ORIGINS_KEY, JSON.stringify(['https://ok.example', 5, "https://a.example 'unsafe-eval'", null]));
    expect(readPackOrigins(s)).toEqual(['https://ok.example']);
  });

  it('does not ask for a reload when storage refuses the origin', () => {
    const s = new MemoryStorage();
    s.refuse = true;
    expect(rememberPackOrigin(s, 'https://packs.example/manifest.json', 'https://app.example')).toBe(false);
  });
});

describe("the model worker's own policy", () => {
  it('names the pack origins in the script URL and gives them back as the policy, ignoring anything else there', () => {
    const url = workerScriptUrl('/assets/hyperbooth.worker-abc.js', 'https://booth.example/app/', ['https://packs.example', 'javascript:alert(1)', 'https://cdn.example:8443']);
    expect(url.href).toBe('https://booth.example/assets/hyperbooth.worker-abc.js?connect=https%3A%2F%2Fpacks.example+https%3A%2F%2Fcdn.example%3A8443');
    expect(workerCsp(url.href)).toBe(buildCsp(['https://packs.example', 'https://cdn.example:8443']));
    expect(workerScriptUrl('/w.js', 'https://booth.example/', []).search).toBe('');
    expect(workerCsp('/w.js')).toBe(buildCsp());
    expect(workerCsp('/w.js?connect=%27unsafe-eval%27+*+https%3A%2F%2Fok.example%2Fpath')).toBe(buildCsp());
  });

  it('public/coi-sw.js (plain JS, no imports) writes the same policy', () => {
    const sandbox: Record<string, unknown> = { self: { addEventListener: () => undefined, location: { origin: 'https://booth.example' } }, URL };
    runInNewContext(readFileSync(new URL('../../../public/coi-sw.js', import.meta.url), 'utf8'), sandbox);
    const swPolicy = sandbox.workerCsp as (url: string) => string;
    for (const url of ['https://booth.example/w.js', 'https://booth.example/w.js?connect=https%3A%2F%2Fpacks.example', 'https://booth.example/w.js?connect=nonsense+https%3A%2F%2Fa.example+https%3A%2F%2Fa.example']) {
      expect(swPolicy(url)).toBe(workerCsp(url));
    }
  });
});
