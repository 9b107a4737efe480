// A file on disk as a ByteSource (Node only): positional reads through one file handle.
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ByteSource } from './byteSource';

export interface ClosableByteSource extends ByteSource { close(): Promise<void> }

export async function openFileByteSource(path: string): Promise<ClosableByteSource> {
  const handle: FileHandle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    name: basename(path),
    size,
    async read(offset, length, into) {
      const out = into && into.byteLength >= length ? new Uint8Array(into, 0, length) : new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${basename(path)}: the file ended at byte ${offset + done} (it changed while being read?)`);
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}
