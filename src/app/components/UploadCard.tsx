import { useState, type DragEvent } from 'react';
import { stepSectionId } from '../hooks/useFlow';
import { chooseSelfie } from '../selfieActions';
import { useAppStore } from '../store';
import { LineIcon } from './LineIcon';

const ACCEPT = 'image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp';

function PhotoIcon() {
  return (
    <LineIcon size={34} strokeWidth={1.6}>
      <rect x="3" y="5" width="18" height="14" rx="3" />
      <circle cx="12" cy="12" r="3.3" />
      <path d="M8 5l1.4-2h5.2L16 5" strokeLinejoin="round" />
    </LineIcon>
  );
}

/** Step 1: a selfie by file picker or drag and drop; the worker decodes it and finds the face. */
export function UploadCard() {
  const selfie = useAppStore((s) => s.selfie);
  const packNotice = useAppStore((s) => (s.pack.phase === 'ready' ? s.pack.notice : undefined));
  const task = useAppStore((s) => s.task);
  const [dragging, setDragging] = useState(false);
  const busy = task !== null;
  const reading = task === 'selfie';

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file && !busy) void chooseSelfie(file);
  };

  return (
    <section className="card step-card" id={stepSectionId('upload')} aria-labelledby="upload-title">
      <h2 id="upload-title" className="card-title">
        <span className="card-step">1</span> Your selfie
      </h2>
      <label
        className={`dropzone${dragging ? ' dropzone-over' : ''}${selfie ? ' dropzone-compact' : ''}${busy ? ' dropzone-disabled' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <input
          type="file"
          className="visually-hidden"
          accept={ACCEPT}
          data-testid="selfie-input"
          disabled={busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            // Cleared so choosing the same file again (after fixing it) fires a change.
            e.target.value = '';
            if (file) void chooseSelfie(file);
          }}
        />
        <PhotoIcon />
        {reading ? (
          <span className="dropzone-main">Reading the photo and looking for a face…</span>
        ) : selfie ? (
          <span className="dropzone-main">
            <strong title={selfie.fileName}>{selfie.fileName}</strong>
            <span className="dropzone-sub">
              {selfie.width}×{selfie.height} · drop or click to choose another photo
            </span>
          </span>
        ) : (
          <span className="dropzone-main">
            <strong>Drop a selfie here or click to choose one</strong>
            <span className="dropzone-sub">JPEG, PNG or WebP · one face, looking at the camera · it never leaves this device</span>
          </span>
        )}
      </label>
      {packNotice && (
        <p className="hint pack-notice" data-testid="pack-notice">
          {packNotice}
        </p>
      )}
    </section>
  );
}
