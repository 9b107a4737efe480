// Node-only: turns a pack's files into its manifest's `files` list (size + sha256), writes the
// folder, and records the pack in the site's public/models/index.json.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeFileAtomic, type AtomicWriteOptions } from '../files/atomicWrite';
import { manifestBytes, validateManifest, type PackFile, type PackManifest } from './manifest';

export { manifestBytes } from './manifest';

export interface PackBuild {
  /** pack-relative path → bytes (manifest.json excluded) */
  files: Record<string, Uint8Array>;
  manifest: PackManifest;
}

export function sha256HexSync(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `files` entries in path order, so the manifest does not depend on insertion order. */
export function describeFiles(files: Record<string, Uint8Array>): PackFile[] {
  return Object.keys(files).sort().map((path) => ({ path, size: files[path].byteLength, sha256: sha256HexSync(files[path]) }));
}

/** Completes a manifest draft with the file list and validates it. */
export function finishManifest(draft: Omit<PackManifest, 'files'>, files: Record<string, Uint8Array>): PackManifest {
  return validateManifest({ ...draft, files: describeFiles(files) }, `pack ${draft.id}`);
}

/** The exact bytes of manifest.json: stable key order from the object, two-space indent, final newline. */

/** Total bytes a client fetches for the pack: its files plus manifest.json. */
export function packSize(pack: PackBuild): number {
  return Object.values(pack.files).reduce((s, f) => s + f.byteLength, 0) + manifestBytes(pack.manifest).byteLength;
}

/** Writes every file and manifest.json under `dir`; returns the written paths (pack-relative). */
export function writePack(dir: string, pack: PackBuild): string[] {
  const described = new Map(pack.manifest.files.map((f) => [f.path, f]));
  const written: string[] = [];
  for (const path of Object.keys(pack.files).sort()) {
    const entry = described.get(path);
    if (!entry || entry.sha256 !== sha256HexSync(pack.files[path])) throw new Error(`${path}: bytes do not match the manifest`);
    const target = join(dir, path);
    if (relative(dir, target).startsWith('..')) throw new Error(`${path}: outside the pack folder`);
    writeFileAtomic(target, pack.files[path]);
    written.push(path);
  }
  if (written.length !== described.size) throw new Error('the manifest lists files the pack does not have');
  // last, so a pack folder whose write broke off has no manifest pointing at missing files
  writeFileAtomic(join(dir, 'manifest.json'), manifestBytes(pack.manifest));
  return [...written, 'manifest.json'];
}

export interface PackIndexEntry { id: string; path: string; name: string; size: number }

/**
 * Adds or replaces the pack's entry in an index.json `{"packs": [...]}`, keeping other packs in
 * place. The app reads index.json at start-up, so it is replaced whole or not at all.
 */
export function updatePackIndex(indexPath: string, entry: PackIndexEntry, opts: AtomicWriteOptions = {}): void {
  let packs: PackIndexEntry[] = [];
  if (existsSync(indexPath)) {
    const json = JSON.parse(readFileSync(indexPath, 'utf8')) as { packs?: PackIndexEntry[] };
    if (!Array.isArray(json.packs)) throw new Error(`${indexPath}: no "packs" list`);
    packs = json.packs;
  }
  const i = packs.findIndex((p) => p.id === entry.id);
  if (i >= 0) packs[i] = entry;
  else packs.push(entry);
  writeFileAtomic(indexPath, `${JSON.stringify({ packs }, null, 2)}\n`, opts);
}
