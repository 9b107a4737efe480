// A PackSink that keeps the pack's files in memory: for packs small enough to hold (tests,
// the miniature checkpoints) and as the reference the browser's storage sinks are compared to.
import { sha256Hasher } from '../packs/sha256Wasm';
import type { PackSink } from './sink';

export interface MemorySink extends PackSink {
  /** pack-relative path → bytes, for every file written (and closed) so far */
  readonly files: Map<string, Uint8Array>;
}

export function memorySink(): MemorySink {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    writeFile(path, bytes) { files.set(path, bytes.slice()); },
    openFile(path) {
      const parts: Uint8Array[] = [];
      return {
        write(bytes) { parts.push(bytes.slice()); },
        close() {
          const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
          let at = 0;
          for (const p of parts) { out.set(p, at); at += p.byteLength; }
          files.set(path, out);
        },
      };
    },
    sha256: sha256Hasher,
  };
}
