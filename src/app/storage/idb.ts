// IndexedDB's callbacks as promises, shared by the app's stores.

export const requestResult = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((ok, fail) => {
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error ?? new Error('IndexedDB request failed'));
  });

export const transactionDone = (tx: IDBTransaction): Promise<void> =>
  new Promise((ok, fail) => {
    tx.oncomplete = () => ok();
    tx.onabort = () => fail(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => fail(tx.error ?? new Error('IndexedDB transaction failed'));
  });

/**
 * Opens (creating or upgrading with `upgrade`, which gets the upgrade transaction and the version
 * the database had: 0 when new) a database once and shares the connection. A
 * failure is forgotten so the next call tries again; the connection is closed and forgotten when
 * another tab upgrades the schema, so this one steps aside instead of blocking it.
 */
export function sharedDatabase(name: string, version: number, upgrade: (db: IDBDatabase, tx: IDBTransaction, oldVersion: number) => void): () => Promise<IDBDatabase> {
  let dbPromise: Promise<IDBDatabase> | undefined;
  return () => {
    dbPromise ??= new Promise<IDBDatabase>((ok, fail) => {
      let req: IDBOpenDBRequest;
      try {
        if (typeof indexedDB === 'undefined') throw new Error('no indexedDB');
        req = indexedDB.open(name, version);
      } catch (e) {
        fail(e);
        return;
      }
      req.onupgradeneeded = (e) => upgrade(req.result, req.transaction!, e.oldVersion);
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => {
          db.close();
          dbPromise = undefined;
        };
        ok(db);
      };
      req.onerror = () => fail(req.error ?? new Error(`could not open the ${name} database`));
      req.onblocked = () => fail(new Error('the database is held open by an older tab'));
    }).catch((e) => {
      dbPromise = undefined;
      throw e;
    });
    return dbPromise;
  };
}
