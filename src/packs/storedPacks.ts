// Packs made in this browser (a checkpoint imported through "Add a model from a file…") live in
// the origin private file system (OPFS), one folder per pack under STORED_PACKS_DIR, manifest.json
// written last: a folder without one is an import that never finished and is no pack. The page
// lists and deletes them; the worker writes them (workers/opfsSink.ts) and loads them through
// loadPack with storedPackFetch, which answers from OPFS and never touches the network.

export const STORED_PACKS_DIR = 'hyperbooth-packs';
/** Where a stored pack's manifest "is": a URL on the page's own origin that no server is asked for. */
export const STORED_PACK_PATH = '/hyperbooth-stored-packs/';
const STORED_SCHEME = 'stored-pack:';

export interface StoredPack {
  id: string;
  name: string;
  /** bytes of every file of the pack, manifest included */
  bytes: number;
  /** the value a pack choice records for it (see storedPackRef) */
  manifestUrl: string;
}

/** A stored pack's reference as the app passes it around (pack choice, worker's loadPack). */
export const storedPackRef = (id: string): string => `${STORED_SCHEME}${id}`;

/** The id of a stored pack's reference, or undefined for a URL pack. */
export function storedPackId(ref: string): string | undefined {
  return ref.startsWith(STORED_SCHEME) ? ref.slice(STORED_SCHEME.length) : undefined;
}

/** The manifest URL loadPack gets for a stored pack (on `origin`; storedPackFetch answers it). */
export const storedManifestUrl = (origin: string, id: string): string => `${origin}${STORED_PACK_PATH}${encodeURIComponent(id)}/manifest.json`;

export function opfsAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
}

export async function storedPacksDir(create = true): Promise<FileSystemDirectoryHandle | undefined> {
  if (!opfsAvailable()) {
    if (create) throw new Error('this browser has no origin private file system (OPFS), where imported models are kept');
    return undefined;
  }
  const root = await navigator.storage.getDirectory();
  try {
    return await root.getDirectoryHandle(STORED_PACKS_DIR, { create });
  } catch (e) {
    if (!create && (e as DOMException)?.name === 'NotFoundError') return undefined;
    throw e;
  }
}

async function folderBytes(dir: FileSystemDirectoryHandle): Promise<number> {
  let n = 0;
  for await (const [, handle] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
    if (handle.kind === 'file') n += (await (handle as FileSystemFileHandle).getFile()).size;
    else n += await folderBytes(handle as FileSystemDirectoryHandle);
  }
  return n;
}

/** Finished packs (those with a manifest.json), by name. */
export async function listStoredPacks(): Promise<StoredPack[]> {
  const dir = await storedPacksDir(false);
  if (!dir) return [];
  const out: StoredPack[] = [];
  for await (const [id, handle] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
    if (handle.kind !== 'directory') continue;
    const folder = handle as FileSystemDirectoryHandle;
    let name = id;
    try {
      const manifest = JSON.parse(await (await (await folder.getFileHandle('manifest.json')).getFile()).text()) as { name?: unknown };
      if (typeof manifest.name === 'string') name = manifest.name;
    } catch {
      continue;
    }
    out.push({ id, name, bytes: await folderBytes(folder), manifestUrl: storedPackRef(id) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes a stored pack (or an unfinished import's folder) and everything in it; returns the bytes freed. */
export async function deleteStoredPack(id: string): Promise<number> {
  const dir = await storedPacksDir(false);
  if (!dir) return 0;
  let folder: FileSystemDirectoryHandle;
  try {
    folder = await dir.getDirectoryHandle(id);
  } catch {
    return 0;
  }
  const bytes = await folderBytes(folder);
  await dir.removeEntry(id, { recursive: true });
  return bytes;
}

/** Folders without a manifest.json: imports that ended without finishing (a closed tab). */
export async function unfinishedImports(): Promise<string[]> {
  const dir = await storedPacksDir(false);
  if (!dir) return [];
  const out: string[] = [];
  for await (const [id, handle] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
    if (handle.kind !== 'directory') continue;
    try {
      await (handle as FileSystemDirectoryHandle).getFileHandle('manifest.json');
    } catch {
      out.push(id);
    }
  }
  return out;
}

/**
 * A `fetch` for loadPack that reads a stored pack's files from OPFS. Anything that is not a
 * stored pack's file is refused rather than fetched: a stored pack never reaches the network.
 */
export async function storedPackFetch(input: RequestInfo | URL): Promise<Response> {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  if (!url.pathname.startsWith(STORED_PACK_PATH)) throw new Error(`${url.href} is not a file of a pack stored in this browser`);
  const [id, ...rest] = url.pathname.slice(STORED_PACK_PATH.length).split('/').map(decodeURIComponent);
  const dir = await storedPacksDir(false);
  try {
    if (!dir) throw new Error('no stored packs');
    let folder = await dir.getDirectoryHandle(id);
    for (const part of rest.slice(0, -1)) folder = await folder.getDirectoryHandle(part);
    const file = await (await folder.getFileHandle(rest[rest.length - 1])).getFile();
    return new Response(file, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(file.size) } });
  } catch {
    return new Response(`${rest.join('/')} is missing from the stored pack ${id}`, { status: 404, statusText: 'Not in this browser\'s storage' });
  }
}

/** A pack id for a checkpoint file's name: letters, digits, . _ - only, not taken yet. */
export function packIdForFile(fileName: string, taken: ReadonlySet<string>): string {
  const stem = fileName.replace(/\.[^.]*$/, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/-+$/, '').slice(0, 60) || 'model';
  let id = stem;
  for (let i = 2; taken.has(id); i++) id = `${stem}-${i}`;
  return id;
}
