// Where a pack's files go. The packer writes through this interface only, so the same
// conversion can write into a folder (Node: ./folderSink.ts, a staging folder swapped in for
// --out at the end), into memory (./memorySink.ts) or, in a Web Worker, into the browser's
// storage (workers/opfsSink.ts). Writes may be asynchronous (opening a browser file is) and
// the writer awaits each one, so at most one tensor is ever waiting to be written. The hash is
// part of the sink because an incremental SHA-256 is platform-specific (node:crypto in Node,
// src/packs/sha256Wasm.ts in a browser: WebCrypto has none).

export interface SinkFile {
  write(bytes: Uint8Array): void | Promise<void>;
  close(): void | Promise<void>;
}

export type { IncrementalHash } from '../packs/sha256Stream';
import type { IncrementalHash } from '../packs/sha256Stream';

export interface PackSink {
  /** a whole file at a pack-relative path (graphs, tokenizer, aux bases, manifest) */
  writeFile(path: string, bytes: Uint8Array): void | Promise<void>;
  /** a file written in pieces, in order (weight chunks) */
  openFile(path: string): SinkFile | Promise<SinkFile>;
  sha256(): IncrementalHash;
}

/** Writes `bytes` and returns its manifest entry. */
export async function putFile(sink: PackSink, path: string, bytes: Uint8Array): Promise<{ path: string; size: number; sha256: string }> {
  await sink.writeFile(path, bytes);
  const h = sink.sha256();
  h.update(bytes);
  return { path, size: bytes.byteLength, sha256: h.hex() };
}
