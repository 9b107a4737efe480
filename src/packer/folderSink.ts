// A PackSink over a folder on disk (Node). Whole files are written atomically (temp + rename),
// as every file the tools write.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../files/atomicWrite';
import type { PackSink } from './sink';

export function folderSink(root: string): PackSink {
  const place = (path: string) => {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    return abs;
  };
  return {
    writeFile(path, bytes) { writeFileAtomic(join(root, path), bytes); },
    async openFile(path) {
      // written on libuv's threads, so the kernel's copy (and any wait for writeback) overlaps
      // the converting and hashing of the next tensor (ChunkWriter keeps one write in flight)
      const handle = await open(place(path), 'w');
      let at = 0;
      return {
        async write(bytes) {
          const start = at;
          at += bytes.byteLength;
          let done = 0;
          while (done < bytes.byteLength) done += (await handle.write(bytes, done, bytes.byteLength - done, start + done)).bytesWritten;
        },
        close: () => handle.close(),
      };
    },
    sha256() {
      const h = createHash('sha256');
      return { update: (b) => { h.update(b); }, hex: () => h.digest('hex') };
    },
  };
}
