import { useAppStore } from '../store';

/** Errors (red) and warnings such as a truncated prompt (amber), announced to screen readers. */
export function ErrorBanner() {
  const error = useAppStore((s) => s.error);
  const warning = useAppStore((s) => s.warning);
  const setError = useAppStore((s) => s.setError);
  const setWarning = useAppStore((s) => s.setWarning);
  if (!error && !warning) return null;
  return (
    <div className={`banner ${error ? 'banner-error' : 'banner-warning'}`} role="alert" data-testid="error">
      <div className="banner-text">
        {error && <p>{error}</p>}
        {warning && <p className="banner-warning-text">{warning}</p>}
      </div>
      <button
        type="button"
        className="icon-button"
        aria-label="Dismiss"
        onClick={() => {
          setError(null);
          setWarning(null);
        }}
      >
        ×
      </button>
    </div>
  );
}
