import type { PackManifest } from './manifest';

export interface PackProgress {
  /** file being loaded (path relative to the pack) */
  file: string;
  loadedBytes: number;
  totalBytes: number;
  /** true when the bytes came from the cache, not the network */
  fromCache: boolean;
}

export type ProgressCallback = (p: PackProgress) => void;

/** What the pipeline needs from a pack: its manifest and the bytes of its files. */
export interface PackContents {
  manifest: PackManifest;
  /** bytes of a file listed in the manifest (path relative to the pack); throws for unknown paths */
  files(path: string): Uint8Array;
}

export interface LoadedPack extends PackContents {
  /** absolute URL (or file:// URL) of the pack folder, ending in `/` */
  baseUrl: string;
  /** bytes of pack files fetched over the network in this load (the manifest itself is not counted) */
  downloadedBytes: number;
  /** bytes of pack files taken from the cache */
  cachedBytes: number;
  /** bytes of pack files read straight from a local folder (Node) */
  localBytes: number;
  /** what went wrong without stopping the load, e.g. the pack could not be kept for offline use and why */
  warnings?: string[];
}
