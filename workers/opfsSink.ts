// A PackSink into a stored pack's OPFS folder (src/packs/storedPacks.ts), for a Web Worker: files are
// written through sync access handles (worker-only), one piece at a time, so a weight chunk is
// never held whole. `remove()` deletes the folder: a failed or cancelled import leaves nothing.
import type { PackSink, SinkFile } from '../src/packer/sink';
import { sha256Hasher } from '../src/packs/sha256Wasm';
import { storedPacksDir } from '../src/packs/storedPacks';

interface SyncHandle {
  write(buffer: BufferSource, options?: { at?: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

export interface OpfsPackSink extends PackSink {
  readonly id: string;
  /** deletes everything written (the whole folder) */
  remove(): Promise<void>;
}

export async function opfsPackSink(id: string): Promise<OpfsPackSink> {
  const root = await storedPacksDir(true);
  const packs = root!;
  await packs.removeEntry(id, { recursive: true }).catch(() => undefined);
  const folder = await packs.getDirectoryHandle(id, { create: true });

  const open = async (path: string): Promise<SyncHandle> => {
    const parts = path.split('/');
    let dir = folder;
    for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
    const file = await dir.getFileHandle(parts[parts.length - 1], { create: true });
    const handle = await (file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle();
    handle.truncate(0);
    return handle;
  };
  const writeAll = (h: SyncHandle, bytes: Uint8Array, at: number) => {
    let done = 0;
    while (done < bytes.byteLength) done += h.write(bytes.subarray(done) as Uint8Array<ArrayBuffer>, { at: at + done });
  };

  return {
    id,
    async writeFile(path, bytes) {
      const h = await open(path);
      try {
        writeAll(h, bytes, 0);
        h.flush();
      } finally {
        h.close();
      }
    },
    async openFile(path): Promise<SinkFile> {
      const h = await open(path);
      let at = 0;
      return {
        write(bytes) {
          writeAll(h, bytes, at);
          at += bytes.byteLength;
        },
        close() {
          h.flush();
          h.close();
        },
      };
    },
    sha256: sha256Hasher,
    remove: () => packs.removeEntry(id, { recursive: true }).catch(() => undefined),
  };
}
