// A checkpoint is read through byte ranges, one tensor at a time, never whole: a 2–4 GB file
// fits neither a wasm heap nor a browser tab's budget. In Node the source is a file handle
// (./nodeSource.ts); in a browser it is a File, read with File.slice.

export interface ByteSource {
  /** the file's name, for messages */
  readonly name: string;
  readonly size: number;
  /**
   * exactly `length` bytes from `offset` (the caller keeps within size); into `into` when it is
   * given and large enough (a source that cannot read into a buffer returns a new one)
   */
  read(offset: number, length: number, into?: ArrayBuffer): Promise<Uint8Array>;
}

/** A Blob or File as a ByteSource (the browser's form; Node's Blob works the same). */
export function blobByteSource(blob: Blob, name: string): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}
