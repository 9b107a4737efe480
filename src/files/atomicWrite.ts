// Node-only: every file the tools write goes through a temp file in the same folder and a
// rename, so a crash, a full disk or a kill mid-write leaves the previous file whole (or no
// file), never a half-written one that breaks the next start (index.json, manifest.json).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes all of `bytes` at the file's current position. */
export type WriteBytes = (fd: number, bytes: Uint8Array) => void;

export interface AtomicWriteOptions {
  /** how bytes reach the temp file; tests pass one that fails part-way to stand in for a crash */
  writeBytes?: WriteBytes;
}

export interface AtomicFile {
  /** the temp file, renamed to the target by commit() */
  readonly tempPath: string;
  write(bytes: Uint8Array): void;
  /** flushes to disk and renames over the target */
  commit(): void;
  /** closes and removes the temp file; the target is untouched. Safe to call after commit(). */
  abort(): void;
}

const writeAll: WriteBytes = (fd, bytes) => {
  for (let done = 0; done < bytes.byteLength;) done += writeSync(fd, bytes, done, bytes.byteLength - done);
};

let serial = 0;

/** A file written piece by piece that appears at `path` only when committed. */
export function openAtomic(path: string, opts: AtomicWriteOptions = {}): AtomicFile {
  mkdirSync(dirname(path), { recursive: true });
  const tempPath = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${serial++}`);
  const fd = openSync(tempPath, 'wx');
  const writeBytes = opts.writeBytes ?? writeAll;
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    tempPath,
    write: (bytes) => writeBytes(fd, bytes),
    commit() {
      fsyncSync(fd);
      close();
      renameSync(tempPath, path);
    },
    abort() {
      close();
      rmSync(tempPath, { force: true });
    },
  };
}

/** Writes `data` to `path` atomically (creating its folder); on any failure the old file stays. */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): void {
  const file = openAtomic(path, opts);
  try {
    file.write(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
}
