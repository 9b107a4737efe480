import { useAppStore } from '../store';
import { statusText } from '../statusText';
import { ProgressBar } from './ProgressBar';

/** What the app is doing: pack download with byte progress, ready, or generating. */
export function PackStatus() {
  const pack = useAppStore((s) => s.pack);
  const progress = useAppStore((s) => s.progress);
  const text = statusText(pack, progress);
  const downloading = pack.phase === 'loading' && pack.totalBytes > 0;
  return (
    <div className={`pack-status pack-${pack.phase}`}>
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
  );
}
