import { useState } from 'react';
import { cancelCheckpointImport, CHECKPOINT_ACCEPT, importCheckpointFile, parseImageSize } from '../modelImportActions';
import { formatMegabytes } from '../statusText';
import { useAppStore, type ModelImportState } from '../store';
import { ProgressBar } from './ProgressBar';
import { REAL_PHOTO_BUTTON } from '../packDomain';

const STAGES = ['index', 'graphs', 'text_encoder', 'vae_decoder', 'vae_encoder', 'unet', 'done'] as const;

function progressLine(state: ModelImportState): string {
  const p = state.progress;
  if (!p) return `Opening ${state.fileName}…`;
  const n = STAGES.indexOf(p.stage) + 1;
  const bytes = p.total > 1 ? `: ${formatMegabytes(p.done)} / ${formatMegabytes(p.total)} MB` : '…';
  return `${p.label}${bytes} (step ${n} of ${STAGES.length})`;
}

/**
 * "Add a model from a file…": a Stable Diffusion 1.5 checkpoint the person already has, turned
 * into a model pack in this browser. Nothing is uploaded: the worker reads the file.
 */
export function AddModelFromFile({ onAdded }: { onAdded(): void }) {
  const state = useAppStore((s) => s.modelImport);
  const busy = useAppStore((s) => s.task !== null || s.pack.phase === 'loading' || s.pack.phase === 'listing');
  const [sizeText, setSizeText] = useState('512');
  const [fp16, setFp16] = useState(false);
  const [sizeProblem, setSizeProblem] = useState('');
  const running = state?.phase === 'running' || state?.phase === 'cancelling';

  const onFile = async (file: File) => {
    const size = parseImageSize(sizeText);
    if (typeof size === 'string') {
      setSizeProblem(size);
      return;
    }
    setSizeProblem('');
    await importCheckpointFile(file, { imageSize: size, fp16 });
    if (useAppStore.getState().modelImport?.phase === 'done') onAdded();
  };

  return (
    <div className="add-model" data-testid="add-model">
      <div className="add-model-row">
        <label className={`import-button${busy ? ' import-disabled' : ''}`} title="A Stable Diffusion 1.5 checkpoint (.safetensors), e.g. v1-5-pruned-emaonly.safetensors or a fine-tune of it">
          <input
            type="file"
            className="visually-hidden"
            accept={CHECKPOINT_ACCEPT}
            data-testid="checkpoint-file"
            disabled={busy}
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) void onFile(file);
            }}
          />
          {REAL_PHOTO_BUTTON}
        </label>
        <label className="add-model-option">
          Image size
          <input
            type="number"
            className="field add-model-size"
            min={8}
            step={8}
            value={sizeText}
            disabled={running}
            data-testid="checkpoint-image-size"
            onChange={(e) => setSizeText(e.target.value)}
          />
          px
        </label>
        <label className="add-model-option">
          <input type="checkbox" checked={fp16} disabled={running} data-testid="checkpoint-fp16" onChange={(e) => setFp16(e.target.checked)} />
          float16 weights (half the size)
        </label>
      </div>
      <p className="hint-line">
        A Stable Diffusion 1.5 checkpoint in <code>.safetensors</code> (the original single-file layout, fp16 or fp32). It is converted here, in this
        browser, and kept in its storage: nothing is uploaded.
      </p>
      {sizeProblem && (
        <p className="notice notice-warn" role="alert" data-testid="checkpoint-error">
          {sizeProblem}
        </p>
      )}
      {running && state && (
        <div className="add-model-progress" data-testid="checkpoint-progress">
          <p className="hint-line" role="status">
            Converting {state.fileName}: {state.phase === 'cancelling' ? 'cancelling…' : progressLine(state)}
          </p>
          <ProgressBar value={state.progress?.done ?? 0} max={state.progress?.total ?? 1} label={`Converting ${state.fileName}`} testId="checkpoint-progress-bar" />
          <button type="button" className="link-button danger" data-testid="checkpoint-cancel" disabled={state.phase === 'cancelling'} onClick={() => void cancelCheckpointImport()}>
            Cancel
          </button>
        </div>
      )}
      {state?.phase === 'failed' && (
        <p className="notice notice-warn" role="alert" data-testid="checkpoint-error">
          Not added: {state.message}
        </p>
      )}
      {(state?.phase === 'done' || state?.phase === 'cancelled') && (
        <p className="notice" role="status" data-testid="checkpoint-result">
          {state.message}
        </p>
      )}
    </div>
  );
}
