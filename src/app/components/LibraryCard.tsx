import { useState } from 'react';
import { deleteRecord, importLidbFile, renameRecord, selectRecord } from '../libraryActions';
import { formatDate } from '../format';
import { LoraImport } from './LoraImport';
import { MAX_NAME_LENGTH } from '../fileNames';
import { formatStrength, weightsRankText } from '../personalizedText';
import type { PersonalizationRecord } from '../storage/personalizations';
import { useAppStore } from '../store';

function Item({ record }: { record: PersonalizationRecord }) {
  const thumb = useAppStore((s) => s.library.thumbnails[record.id]);
  const active = useAppStore((s) => s.active?.id === record.id);
  const busy = useAppStore((s) => s.task !== null);
  const ready = useAppStore((s) => s.pack.phase === 'ready');
  const packId = useAppStore((s) => s.pack.id);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(record.name);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const otherPack = packId !== undefined && record.packId !== packId;

  const commitRename = async () => {
    if (await renameRecord(record.id, draft)) setEditing(false);
  };

  return (
    <li className={`library-item${active ? ' library-item-active' : ''}`} data-testid="personalization-item" data-active={active}>
      {thumb ? <img className="avatar" src={thumb} alt="" width={40} height={40} /> : <span className="avatar avatar-letter">{record.name.slice(0, 1).toUpperCase()}</span>}
      <div className="library-text">
        {editing ? (
          <form
            className="rename-form"
            onSubmit={(e) => {
              e.preventDefault();
              void commitRename();
            }}
          >
            <input
              type="text"
              aria-label="New name"
              data-testid="personalization-rename-input"
              value={draft}
              maxLength={MAX_NAME_LENGTH}
              autoFocus
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  setDraft(record.name);
                  setEditing(false);
                }
              }}
            />
            <button type="submit" className="link-button">
              Save
            </button>
          </form>
        ) : (
          <p className="library-name" data-testid="personalization-name" title={record.name}>
            {record.name}
          </p>
        )}
        <p className="library-meta">
          {formatDate(record.createdAt)} · {weightsRankText(record)}
          {record.kind === 'lora' ? ` · LoRA, strength ${formatStrength(record.strength ?? 1)}` : ''}
          {record.source === 'import' ? ' · imported' : ''}
          {otherPack ? ` · for pack "${record.packId}"` : ''}
        </p>
        <div className="library-actions">
          {active ? (
            <span className="active-pill">in use</span>
          ) : (
            <button type="button" className="link-button strong" data-testid="personalization-use" disabled={busy || !ready} onClick={() => void selectRecord(record.id)}>
              Use
            </button>
          )}
          {!editing && (
            <button
              type="button"
              className="link-button"
              data-testid="personalization-rename"
              onClick={() => {
                setDraft(record.name);
                setEditing(true);
              }}
            >
              Rename
            </button>
          )}
          {confirmDelete ? (
            <span className="confirm-delete">
              Delete for good?{' '}
              <button type="button" className="link-button danger" data-testid="personalization-delete-confirm" onClick={() => void deleteRecord(record.id)}>
                Delete
              </button>{' '}
              <button type="button" className="link-button" onClick={() => setConfirmDelete(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button type="button" className="link-button" data-testid="personalization-delete" onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          )}
        </div>
      </div>
    </li>
  );
}

/** Saved personalizations (IndexedDB): use, rename, delete, and import a .lidb.safetensors. */
export function LibraryCard() {
  const library = useAppStore((s) => s.library);
  const busy = useAppStore((s) => s.task !== null);
  const importing = useAppStore((s) => s.task === 'import');
  const ready = useAppStore((s) => s.pack.phase === 'ready');
  return (
    <section className="card library" aria-labelledby="library-title" data-testid="library">
      <div className="field-row">
        <h2 id="library-title" className="card-title">
          My personalizations
        </h2>
        <label className={`import-button${busy || !ready ? ' import-disabled' : ''}`} title="Load a .lidb.safetensors made with HyperBooth">
          <input
            type="file"
            className="visually-hidden"
            accept=".safetensors,application/octet-stream"
            data-testid="lidb-import"
            disabled={busy || !ready}
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) void importLidbFile(file);
            }}
          />
          {importing ? 'Importing…' : 'Import LiDB file'}
        </label>
      </div>
      <LoraImport />
      {library.problem && (
        <p className="notice notice-warn" data-testid="library-problem">
          {library.problem}
        </p>
      )}
      {library.phase === 'loading' ? (
        <p className="hint-line">Loading…</p>
      ) : library.records.length === 0 ? (
        <p className="hint-line">Personalizations you make or import are kept here, in this browser, and survive a reload.</p>
      ) : (
        <ul className="library-list" data-testid="personalization-list">
          {library.records.map((r) => (
            <Item key={r.id} record={r} />
          ))}
        </ul>
      )}
    </section>
  );
}
