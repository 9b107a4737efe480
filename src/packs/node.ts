// Node-only pack loading (tools, tests): a folder or file:// URL is read straight from disk,
// with the same size/sha256 checks as a download; http(s) URLs go through loadPack.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { validateManifest } from './manifest';
import { loadPack, type LoadPackOptions } from './loadPack';
import { MemoryPackCache } from './cache';
import type { LoadedPack, ProgressCallback } from './types';
import { filesAccessor, PackFileError, verifyFile } from './verify';

/** `location`: a pack folder, its manifest.json, a file:// URL of either, or an http(s) URL of the manifest. */
export async function openPack(location: string, opts: LoadPackOptions = {}): Promise<LoadedPack> {
  if (/^https?:\/\//.test(location)) return loadPack(location, { ...opts, cache: opts.cache ?? new MemoryPackCache() });
  return loadPackFromDisk(location, { onProgress: opts.onProgress });
}

export async function loadPackFromDisk(location: string, opts: { onProgress?: ProgressCallback } = {}): Promise<LoadedPack> {
  let path = location.startsWith('file:') ? fileURLToPath(location) : resolve(location);
  if ((await stat(path).catch(() => undefined))?.isDirectory()) path = join(path, 'manifest.json');
  const dir = resolve(path, '..');

  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PackFileError('manifest.json', `cannot be read from ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PackFileError('manifest.json', `is not valid JSON (${path}): ${(e as Error).message}`);
  }
  const manifest = validateManifest(json, path);

  const contents = new Map<string, Uint8Array>();
  let localBytes = 0;
  for (const file of manifest.files) {
    const filePath = join(dir, file.path);
    const rel = relative(dir, filePath);
    // validateManifest's path allow-list already keeps paths inside; this is the last word
    if (rel.startsWith('..') || isAbsolute(rel)) throw new PackFileError(file.path, `is outside the pack folder ${dir}`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(filePath));
    } catch (e) {
      throw new PackFileError(file.path, `cannot be read from ${filePath}: ${(e as Error).message}`);
    }
    await verifyFile(file, bytes, filePath);
    opts.onProgress?.({ file: file.path, loadedBytes: bytes.byteLength, totalBytes: file.size, fromCache: false });
    contents.set(file.path, bytes);
    localBytes += bytes.byteLength;
  }
  const baseUrl = pathToFileURL(dir + '/').href;
  return { manifest, files: filesAccessor(manifest.id, contents), baseUrl, downloadedBytes: 0, cachedBytes: 0, localBytes };
}
