// Size and sha256 checks shared by every way a pack file arrives (network, cache, disk), so each
// error message has the same shape and always names the file.
import type { PackFile } from './manifest';
import { sha256Hex } from './sha256';

export class PackFileError extends Error {
  constructor(readonly file: string, why: string) {
    super(`pack file ${file}: ${why}`);
    this.name = 'PackFileError';
  }
}

/** Returns undefined when `bytes` is the file the manifest describes, otherwise why it is not. */
export async function checkFile(file: PackFile, bytes: Uint8Array): Promise<string | undefined> {
  if (bytes.byteLength !== file.size) return `expected ${file.size} bytes, got ${bytes.byteLength}`;
  const actual = await sha256Hex(bytes);
  if (actual !== file.sha256) return `sha256 mismatch (expected ${file.sha256}, got ${actual})`;
  return undefined;
}

export async function verifyFile(file: PackFile, bytes: Uint8Array, where: string): Promise<void> {
  const problem = await checkFile(file, bytes);
  if (problem) throw new PackFileError(file.path, `${problem} in ${where}`);
}

export function filesAccessor(packId: string, contents: Map<string, Uint8Array>): (path: string) => Uint8Array {
  return (path) => {
    const bytes = contents.get(path);
    if (!bytes) throw new PackFileError(path, `not part of pack ${packId}`);
    return bytes;
  };
}
