import { useAppStore } from '../store';
import { hasPackProgress, statusText } from '../statusText';
import { ProgressBar } from './ProgressBar';

/** What the app is doing: pack download with byte progress, ready, or generating; under it what went wrong without stopping the load. */
export function PackStatus() {
  const pack = useAppStore((s) => s.pack);
  const progress = useAppStore((s) => s.progress);
  const task = useAppStore((s) => s.task);
  const personalize = useAppStore((s) => s.run?.progress ?? null);
  const cancelling = useAppStore((s) => s.run?.cancelling ?? false);
  const active = useAppStore((s) => s.active?.name);
  const text = statusText(pack, progress, { task, personalize, cancelling, active });
  const downloading = pack.phase === 'loading' && pack.totalBytes > 0 && hasPackProgress(pack);
  const warnings = pack.phase === 'ready' ? (pack.warnings ?? []) : [];
  return (
    <>
      <div className={`pack-status pack-${pack.phase}${task ? ' pack-busy' : ''}`}>
        <span className="status-dot" aria-hidden="true" />
        <span data-testid="status" role="status" aria-live="polite">
          {text}
        </span>
        {downloading && (
          <div className="pack-progress">
            <ProgressBar max={pack.totalBytes} value={pack.loadedBytes} label="Pack download" />
          </div>
        )}
      </div>
      {warnings.length > 0 && (
        <p className="pack-warning" role="alert" data-testid="pack-warning">
          {warnings.join(' ')}
        </p>
      )}
    </>
  );
}
