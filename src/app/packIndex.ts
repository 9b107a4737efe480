// public/models/index.json: the list of model packs this site serves.

export interface PackIndexEntry {
  id: string;
  name?: string;
  /** absolute URL of the pack's manifest.json */
  manifestUrl: string;
  /** total bytes of the pack's files, when the index says */
  size?: number;
}

interface RawEntry {
  id?: unknown;
  name?: unknown;
  /** manifest path relative to index.json */
  path?: unknown;
  size?: unknown;
}

export async function readPackIndex(indexUrl: URL): Promise<PackIndexEntry[]> {
  const where = 'models/index.json';
  let res: Response;
  try {
    res = await fetch(indexUrl, { cache: 'no-cache' });
  } catch (e) {
    throw new Error(`${where}: could not be fetched (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!res.ok) throw new Error(`${where}: HTTP ${res.status} ${res.statusText}`.trim());
  const text = await res.text();
  // A dev server answers unknown paths with the app's index.html: say "missing", not "bad JSON".
  if (text.trimStart().startsWith('<')) throw new Error(`${where}: missing (the server sent an HTML page instead)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${where}: not valid JSON`);
  }
  const list = (json as { packs?: unknown })?.packs;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${where}: lists no packs`);
  return list.map((raw: RawEntry, i) => {
    if (typeof raw?.id !== 'string' || !raw.id) throw new Error(`${where}: pack ${i} has no id`);
    const manifest = typeof raw.path === 'string' && raw.path ? raw.path : `${raw.id}/manifest.json`;
    return {
      id: raw.id,
      name: typeof raw.name === 'string' ? raw.name : undefined,
      manifestUrl: new URL(manifest, indexUrl).href,
      size: typeof raw.size === 'number' && raw.size > 0 ? raw.size : undefined,
    };
  });
}
