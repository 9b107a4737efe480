// Where a pack's files go. The packer writes through this interface only, so the same
// conversion can write into a folder (Node: ./folderSink.ts, a staging folder swapped in for
// --out at the end) or, in a Web Worker, into the browser's storage (OPFS sync access handles
// give the synchronous writes this interface asks for). The hash is part of the sink because
// an incremental SHA-256 is platform-specific (node:crypto here; WebCrypto has none).

export interface SinkFile {
  write(bytes: Uint8Array): void;
  close(): void;
}

export interface IncrementalHash {
  update(bytes: Uint8Array): void;
  hex(): string;
}

export interface PackSink {
  /** a whole file at a pack-relative path (graphs, tokenizer, aux bases, manifest) */
  writeFile(path: string, bytes: Uint8Array): void;
  /** a file written in pieces, in order (weight chunks) */
  openFile(path: string): SinkFile;
  sha256(): IncrementalHash;
}

/** Writes `bytes` and returns its manifest entry. */
export function putFile(sink: PackSink, path: string, bytes: Uint8Array): { path: string; size: number; sha256: string } {
  sink.writeFile(path, bytes);
  const h = sink.sha256();
  h.update(bytes);
  return { path, size: bytes.byteLength, sha256: h.hex() };
}
