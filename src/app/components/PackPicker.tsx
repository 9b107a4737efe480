import { useCallback, useEffect, useState } from 'react';
import { errorText, packIndexUrl } from '../actions';
import { readPackChoice } from '../packChoice';
import { readPackIndex, type PackIndexEntry } from '../packIndex';
import { deleteCachedModels, entryForUrl, planDownload, planText, storageUsageText, switchPack } from '../packPickerActions';
import { deleteStoredModel, refreshStoredPacks } from '../modelImportActions';
import { formatMegabytes } from '../statusText';
import { useAppStore } from '../store';
import type { StoredPack } from '../../packs/storedPacks';
import { AddModelFromFile } from './AddModelFromFile';

const URL_CHOICE = 'url';

/**
 * What a load of this pack would fetch, checked again whenever a load ends or the cache changes.
 * A re-check keeps the last answer on screen until the new one arrives: "Checking the cache…"
 * shows only while nothing is known about this URL yet (not beside a status that says Ready).
 */
function usePlanText(manifestUrl: string | undefined, refresh: number): string {
  const [plan, setPlan] = useState<{ url: string; text: string } | undefined>();
  const setText = (url: string) => (text: string) => setPlan({ url, text });
  useEffect(() => {
    if (!manifestUrl) return;
    let live = true;
    // a typed URL is checked once typing pauses, not on every key
    const timer = setTimeout(() => {
      planDownload(manifestUrl).then(
        (p) => live && setText(manifestUrl)(planText(p)),
        (e) => live && setText(manifestUrl)(`Unavailable: ${errorText(e)}`),
      );
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [manifestUrl, refresh]);
  if (!manifestUrl) return '';
  return plan?.url === manifestUrl ? plan.text : 'Checking the cache…';
}

function PackOption({ entry, checked, onPick, refresh }: { entry: PackIndexEntry; checked: boolean; onPick(): void; refresh: number }) {
  const size = usePlanText(entry.manifestUrl, refresh);
  return (
    <li className="pack-option" data-testid="pack-option" data-pack-id={entry.id}>
      <label>
        <input type="radio" name="pack" checked={checked} onChange={onPick} />
        <span className="pack-name">{entry.name ?? entry.id}</span> <code className="pack-id">{entry.id}</code>
      </label>
      <span className="hint pack-size" data-testid="pack-size">
        {size}
      </span>
    </li>
  );
}

/** A pack made in this browser from a checkpoint: no download, and Delete frees its space. */
function StoredPackOption({ pack, checked, onPick, onDelete, disabled }: { pack: StoredPack; checked: boolean; onPick(): void; onDelete(): void; disabled: boolean }) {
  return (
    <li className="pack-option stored-pack-option" data-testid="stored-pack" data-pack-id={pack.id}>
      <label>
        <input type="radio" name="pack" checked={checked} onChange={onPick} />
        <span className="pack-name">{pack.name}</span> <code className="pack-id">{pack.id}</code>
      </label>
      <span className="hint pack-size" data-testid="pack-size">
        Stored in this browser · {formatMegabytes(pack.bytes)} MB
      </span>
      <button type="button" className="link-button danger" data-testid="stored-pack-delete" disabled={disabled} onClick={onDelete} aria-label={`Delete ${pack.name} from this browser`}>
        Delete
      </button>
    </li>
  );
}

/** Choose a model pack: one of public/models/index.json, one made in this browser from a checkpoint, or a manifest.json anywhere else. */
export function PackPicker() {
  const pack = useAppStore((s) => s.pack);
  const busy = useAppStore((s) => s.task !== null);
  const stored = useAppStore((s) => s.storedPacks);
  const [entries, setEntries] = useState<PackIndexEntry[]>([]);
  const [choice, setChoice] = useState<string | undefined>();
  const [urlText, setUrlText] = useState('');
  const [refresh, setRefresh] = useState(0);
  const [cacheNote, setCacheNote] = useState('');
  const [usage, setUsage] = useState<string | undefined>();

  useEffect(() => {
    let live = true;
    Promise.all([readPackIndex(packIndexUrl()), refreshStoredPacks()]).then(
      ([list]) => {
        if (!live) return;
        setEntries(list);
        const saved = readPackChoice();
        const all = [...list, ...useAppStore.getState().storedPacks];
        const listed = saved && all.find((e) => e.manifestUrl === saved.manifestUrl);
        if (saved && !listed) {
          setUrlText(saved.manifestUrl);
          setChoice(URL_CHOICE);
        } else setChoice((listed || list[0]).manifestUrl);
      },
      // the status line already reports a broken index
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);

  const loading = pack.phase === 'loading' || pack.phase === 'listing';
  // a finished or failed load changes what is cached
  useEffect(() => {
    if (!loading) setRefresh((n) => n + 1);
  }, [loading]);
  useEffect(() => {
    void storageUsageText().then(setUsage);
  }, [refresh]);

  const typed = urlText.trim() ? entryForUrl(urlText) : undefined;
  const urlEntry = typeof typed === 'object' ? typed : undefined;
  const urlSize = usePlanText(urlEntry?.manifestUrl, refresh);
  const storedEntries = stored.map((p) => ({ id: p.id, name: p.name, manifestUrl: p.manifestUrl, size: p.bytes }));
  const selected = choice === URL_CHOICE ? urlEntry : [...entries, ...storedEntries].find((e) => e.manifestUrl === choice);

  const load = useCallback(async () => {
    if (!selected) return;
    setCacheNote('');
    await switchPack(selected);
    setRefresh((n) => n + 1);
  }, [selected]);

  const remove = useCallback(async (manifestUrl: string) => {
    try {
      setCacheNote(await deleteStoredModel(manifestUrl));
    } catch (e) {
      setCacheNote(`Could not delete it: ${errorText(e)}`);
    }
    if (choice === manifestUrl) setChoice(entries[0]?.manifestUrl);
    setRefresh((n) => n + 1);
  }, [choice, entries]);

  const clear = useCallback(async () => {
    try {
      setCacheNote(await deleteCachedModels());
    } catch (e) {
      setCacheNote(`Could not delete the cache: ${errorText(e)}`);
    }
    setRefresh((n) => n + 1);
  }, []);

  return (
    <section className="card pack-picker" aria-labelledby="pack-picker-title" data-testid="pack-picker">
      <h2 id="pack-picker-title" className="card-title">
        Model pack
      </h2>
      <ul className="pack-options">
        {entries.map((e) => (
          <PackOption key={e.manifestUrl} entry={e} checked={choice === e.manifestUrl} onPick={() => setChoice(e.manifestUrl)} refresh={refresh} />
        ))}
        {stored.map((p) => (
          <StoredPackOption
            key={p.manifestUrl}
            pack={p}
            checked={choice === p.manifestUrl}
            onPick={() => setChoice(p.manifestUrl)}
            onDelete={() => void remove(p.manifestUrl)}
            disabled={busy || loading}
          />
        ))}
        <li className="pack-option pack-url-option" data-testid="pack-url-option">
          <label>
            <input type="radio" name="pack" checked={choice === URL_CHOICE} onChange={() => setChoice(URL_CHOICE)} />
            Pack URL
          </label>
          <input
            type="url"
            className="field"
            placeholder="https://…/manifest.json"
            aria-label="Pack URL (a manifest.json)"
            data-testid="pack-url"
            value={urlText}
            onChange={(e) => {
              setUrlText(e.target.value);
              setChoice(URL_CHOICE);
            }}
          />
          {urlText.trim() && (
            <span className="hint pack-size" data-testid="pack-size">
              {typeof typed === 'string' ? typed : urlSize}
            </span>
          )}
        </li>
      </ul>
      <AddModelFromFile onAdded={() => setChoice(readPackChoice()?.manifestUrl)} />
      <div className="button-row">
        <button type="button" className="primary" data-testid="pack-load" disabled={!selected || loading || busy} onClick={() => void load()}>
          {pack.phase === 'ready' && selected?.manifestUrl === pack.manifestUrl ? 'Reload pack' : 'Load pack'}
        </button>
        <button type="button" className="link-button danger" data-testid="delete-cache" disabled={loading} onClick={() => void clear()}>
          Delete cached models
        </button>
      </div>
      {(cacheNote || usage) && (
        <p className="hint" data-testid="cache-status" role="status">
          {[cacheNote, usage].filter(Boolean).join(' · ')}
        </p>
      )}
    </section>
  );
}
