import { useAppStore } from '../store';
import { ProgressBar } from './ProgressBar';

/** The Generate button and, while it runs, a bar that moves once per denoising step. */
export function GeneratePanel() {
  const ready = useAppStore((s) => s.pack.phase === 'ready');
  const busy = useAppStore((s) => s.busy);
  const progress = useAppStore((s) => s.progress);
  const total = progress ? progress.images * progress.steps : 0;
  const done = progress ? progress.image * progress.steps + progress.step : 0;
  const secondsPerStep = progress?.elapsedMs !== undefined && done > 0 ? progress.elapsedMs / 1000 / done : undefined;

  return (
    <div className="generate">
      <button type="submit" className="primary" data-testid="generate" disabled={!ready || busy}>
        {busy ? 'Generating…' : 'Generate'}
      </button>
      {progress && (
        <div className="step-progress">
          <ProgressBar testId="progress" max={total} value={done} label="Denoising progress" />
          <span className="step-label">
            Image {progress.image + 1}/{progress.images} · step {progress.step}/{progress.steps}
            {secondsPerStep !== undefined && ` · ${secondsPerStep.toFixed(secondsPerStep < 10 ? 2 : 1)} s/step`}
          </span>
        </div>
      )}
    </div>
  );
}
