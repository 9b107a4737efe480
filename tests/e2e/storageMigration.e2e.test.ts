// Saved personalizations keep their weights files in an object store of their own, read only
// when one is switched on (issue 13, item 9). A database as the previous version left it (files
// inline in the list's records: a LiDB under `lidb` as version 1 wrote it, a kohya LoRA under
// `weightsFile` as version 2 did) is made in a page of the app's origin before the app starts;
// the app's upgrade moves both files out, start-up then reads the list without touching a file,
// and a file is read (once, for that record) only when it is switched on — by hand, or after a
// reload because it was in use. Real chromium IndexedDB, real files the worker checks.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { appInChromium } from './harness';
import { waitForReady, waitForTestId, watchPage } from './pageHelpers';
import { tinyKohyaFile, tinyLidbFile, tinyManifest as manifest } from './tinyPackFiles';

const READY_TIMEOUT = 180_000;
const env = appInChromium();
const lidbFile = tinyLidbFile(21);
const loraFile = tinyKohyaFile();

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The two records as the previous versions stored them (database version 1). */
const oldRecords = [
  {
    v: 1, id: 'old-lidb', name: 'Old LiDB', createdAt: 2_000, packId: manifest.id, trigger: manifest.trigger, rank: 1, source: 'import',
    lidb: Array.from(lidbFile), sha256: sha(lidbFile), thumbnailPng: null, settings: null, losses: null, stoppedEarly: null,
  },
  {
    v: 2, id: 'old-lora', name: 'Old LoRA', createdAt: 1_000, packId: manifest.id, trigger: '', rank: 2, source: 'import', kind: 'lora', strength: 0.5,
    weightsFile: Array.from(loraFile), sha256: sha(loraFile), thumbnailPng: null, settings: null, losses: null, stoppedEarly: null,
  },
];

/** Every IndexedDB read and transaction of the page, by database and store (init script: before the app's first line). */
function recordIdbUse(): void {
  const use: string[] = [];
  (window as unknown as { __idbUse: string[] }).__idbUse = use;
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, names: string | string[], ...rest: never[]) {
    use.push(`tx ${this.name}: ${[names].flat().join(',')}`);
    return transaction.call(this, names, ...rest);
  } as typeof transaction;
  for (const method of ['get', 'getAll', 'openCursor'] as const) {
    const original = IDBObjectStore.prototype[method] as (...a: unknown[]) => IDBRequest;
    (IDBObjectStore.prototype as unknown as Record<string, unknown>)[method] = function (this: IDBObjectStore, ...args: unknown[]) {
      use.push(`${method} ${this.transaction.db.name}/${this.name}${typeof args[0] === 'string' ? ` ${args[0]}` : ''}`);
      return original.apply(this, args);
    };
  }
}

const idbUse = (page: Page) => page.evaluate(() => (window as unknown as { __idbUse: string[] }).__idbUse.filter((u) => /hyperbooth[:/]/.test(u)));
const names = (page: Page) => page.getByTestId('personalization-name').allTextContents();

async function libraryListed(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="personalization-item"]').length === n, count, { timeout: 30_000, polling: 100 });
}

describe('the personalizations database of the previous version', () => {
  test('is upgraded (files moved to their own store), start-up reads no file, a file is read only when switched on', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const log = watchPage(page);
    await page.addInitScript(recordIdbUse);

    // a page of the origin that does not start the app: the database as the last version left it
    await page.goto(`${env.server.url}models/index.json`);
    await page.evaluate(async (records) => {
      const db = await new Promise<IDBDatabase>((ok, fail) => {
        const req = indexedDB.open('hyperbooth', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('personalizations', { keyPath: 'id' });
        req.onsuccess = () => ok(req.result);
        req.onerror = () => fail(req.error);
      });
      const tx = db.transaction('personalizations', 'readwrite');
      for (const r of records) {
        const bytes = new Uint8Array((r as { lidb?: number[] }).lidb ?? (r as { weightsFile: number[] }).weightsFile).buffer;
        tx.objectStore('personalizations').put('lidb' in r ? { ...r, lidb: bytes } : { ...r, weightsFile: bytes });
      }
      await new Promise((ok, fail) => {
        tx.oncomplete = ok;
        tx.onerror = () => fail(tx.error);
      });
      db.close();
    }, oldRecords);

    await page.goto(`${env.server.url}?backend=wasm`);
    await waitForReady(page, log, READY_TIMEOUT);
    await libraryListed(page, 2);
    expect(await names(page)).toEqual(['Old LiDB', 'Old LoRA']);
    expect(await page.getByTestId('library-problem').count()).toBe(0);
    expect(await page.getByTestId('personalized').count()).toBe(0);
    // start-up read the list (one getAll) and not one file
    const startUp = await idbUse(page);
    expect(startUp).toContain('getAll hyperbooth/personalizations');
    expect(startUp.filter((u) => u.includes('files'))).toEqual([]);

    // the upgraded database: list entries without bytes, each file whole in the files store
    const stored = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((ok, fail) => {
        const req = indexedDB.open('hyperbooth');
        req.onsuccess = () => ok(req.result);
        req.onerror = () => fail(req.error);
      });
      const read = <T,>(store: string, how: (s: IDBObjectStore) => IDBRequest<T>) =>
        new Promise<T>((ok, fail) => {
          const req = how(db.transaction(store, 'readonly').objectStore(store));
          req.onsuccess = () => ok(req.result);
          req.onerror = () => fail(req.error);
        });
      const list = await read('personalizations', (s) => s.getAll());
      const keys = await read('files', (s) => s.getAllKeys());
      const files = await read('files', (s) => s.getAll());
      const version = db.version;
      db.close();
      return {
        version,
        list: list.map((r: Record<string, unknown>) => ({ id: r.id, v: r.v, fileSize: r.fileSize, inline: 'lidb' in r || 'weightsFile' in r })),
        files: keys.map((k, i) => ({ id: k, size: (files[i] as ArrayBuffer).byteLength })),
      };
    });
    expect(stored.version).toBe(2);
    expect(stored.list).toEqual([
      { id: 'old-lidb', v: 3, fileSize: lidbFile.byteLength, inline: false },
      { id: 'old-lora', v: 3, fileSize: loraFile.byteLength, inline: false },
    ]);
    expect(stored.files).toEqual([
      { id: 'old-lidb', size: lidbFile.byteLength },
      { id: 'old-lora', size: loraFile.byteLength },
    ]);

    // switched on: its file (and only its file) is read, and the worker takes it
    const before = (await idbUse(page)).length;
    await page.getByTestId('personalization-use').nth(1).click();
    await waitForTestId(page, log, 'personalized', 30_000);
    expect(await page.getByTestId('active-name').textContent()).toBe('Old LoRA');
    expect((await idbUse(page)).slice(before).filter((u) => u.includes('files'))).toEqual(['tx hyperbooth: files', 'get hyperbooth/files old-lora']);

    // after a reload the one in use comes back: its file is the only one read
    await page.reload();
    await waitForReady(page, log, READY_TIMEOUT);
    await waitForTestId(page, log, 'personalized', 30_000);
    expect(await page.getByTestId('active-name').textContent()).toBe('Old LoRA');
    expect((await idbUse(page)).filter((u) => u.includes('files'))).toEqual(['tx hyperbooth: files', 'get hyperbooth/files old-lora']);
    // and the LiDB moved by the upgrade works too
    await page.getByTestId('personalization-use').nth(0).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="active-name"]')?.textContent === 'Old LiDB', undefined, { timeout: 30_000 });
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await context.close();
  });
});
