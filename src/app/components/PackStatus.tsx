import { useAppStore } from '../store';
import { statusText } from '../statusText';

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
        <progress className="pack-progress" max={pack.totalBytes} value={pack.loadedBytes} aria-label="Pack download" />
      )}
    </div>
  );
}
