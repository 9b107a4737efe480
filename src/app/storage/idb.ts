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
