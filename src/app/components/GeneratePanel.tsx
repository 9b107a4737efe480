import { cancelGenerate } from '../actions';
import { extrapolateMs, formatTimeLeft } from '../format';
import { promptItems } from '../prompts';
import { useAppStore } from '../store';
import { ProgressBar } from './ProgressBar';

/** How many images a click makes, for the button's label. */
function useImageCount(): number {
  const prompt = useAppStore((s) => s.settings.prompt);
  const count = Number(useAppStore((s) => s.settings.count));
  const styleIds = useAppStore((s) => s.styleIds);
  const trigger = useAppStore((s) => s.pack.trigger);
  const personalized = useAppStore((s) => s.active !== null);
  const presets = useAppStore((s) => s.pack.styles);
  const prompts = promptItems(styleIds, prompt, trigger, personalized, presets).length;
  return Number.isInteger(count) && count > 0 ? prompts * count : prompts;
}

/** The Generate button and, while it runs, Cancel and a bar that moves once per denoising step. */
export function GeneratePanel() {
  const ready = useAppStore((s) => s.pack.phase === 'ready');
  const task = useAppStore((s) => s.task);
  const progress = useAppStore((s) => s.progress);
  const cancelling = useAppStore((s) => s.cancellingGenerate);
  const images = useImageCount();
  const busy = task === 'generate';
  const total = progress ? progress.images * progress.steps : 0;
  const done = progress ? progress.image * progress.steps + progress.step : 0;
  const secondsPerStep = progress?.elapsedMs !== undefined && done > 0 ? progress.elapsedMs / 1000 / done : undefined;
  const left = progress ? formatTimeLeft(extrapolateMs(progress.elapsedMs, done, total)) : undefined;

  return (
    <div className="generate">
      <div className="button-row">
        <button type="submit" className="primary" data-testid="generate" disabled={!ready || task !== null}>
          {busy ? 'Generating…' : images > 1 ? `Generate ${images} images` : 'Generate'}
        </button>
        {busy && (
          <button type="button" className="secondary" data-testid="cancel-generate" disabled={cancelling} onClick={() => void cancelGenerate()}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      {progress && (
        <div className="step-progress">
          <ProgressBar testId="progress" max={total} value={done} label="Denoising progress" />
          <span className="step-label">
            Image {progress.image + 1}/{progress.images} · step {progress.step}/{progress.steps}
            {secondsPerStep !== undefined && ` · ${secondsPerStep.toFixed(secondsPerStep < 10 ? 2 : 1)} s/step`}
            {left && ` · ${left}`}
          </span>
        </div>
      )}
    </div>
  );
}
