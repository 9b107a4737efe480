// A PackSink over a folder on disk (Node). Whole files are written atomically (temp + rename),
// as every file the tools write.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
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
    openFile(path) {
      const fd = openSync(place(path), 'w');
      return {
        write(bytes) {
          let done = 0;
          while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
        },
        close() { closeSync(fd); },
      };
    },
    sha256() {
      const h = createHash('sha256');
      return { update: (b) => { h.update(b); }, hex: () => h.digest('hex') };
    },
  };
}
