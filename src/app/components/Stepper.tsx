import { extrapolateMs, formatTimeLeft } from '../format';
import { stepSectionId, useStepStates } from '../hooks/useFlow';
import { personalizeFraction } from '../statusText';
import { STEPS, type StepId, type StepState } from '../steps';
import { useAppStore } from '../store';
import { ProgressBar } from './ProgressBar';
import { LineIcon } from './LineIcon';

interface StageProgress {
  fraction?: number;
  text: string;
}

/** What each running stage shows under its name: how far, and the time left. */
function useStageProgress(): Partial<Record<StepId, StageProgress>> {
  const task = useAppStore((s) => s.task);
  const run = useAppStore((s) => s.run);
  const progress = useAppStore((s) => s.progress);
  const out: Partial<Record<StepId, StageProgress>> = {};
  if (task === 'selfie') out.upload = { text: 'reading the photo…' };
  if (task === 'personalize' && run) {
    const p = run.progress;
    const fraction = p ? personalizeFraction(p) : 0;
    const left = formatTimeLeft(p?.etaMs);
    out.personalize = {
      fraction,
      text: run.cancelling ? 'cancelling…' : `${Math.round(fraction * 100)}%${left ? ` · ${left.replace('about ', '~')}` : ''}`,
    };
  }
  if (task === 'generate' && progress) {
    const total = progress.images * progress.steps;
    const done = progress.image * progress.steps + progress.step;
    const left = formatTimeLeft(extrapolateMs(progress.elapsedMs, done, total));
    out.styles = { fraction: total ? done / total : 0, text: `image ${progress.image + 1}/${progress.images}${left ? ` · ${left.replace('about ', '~')}` : ''}` };
  }
  if (task === 'export') out.download = { text: 'preparing…' };
  return out;
}

const STATE_WORDS: Record<StepState, string> = { done: 'done', current: 'now', open: 'ready', locked: '' };

function CheckIcon() {
  return (
    <LineIcon size={14} strokeWidth={3}>
      <path d="M5 12.5l4.5 4.5L19 7.5" strokeLinecap="round" strokeLinejoin="round" />
    </LineIcon>
  );
}

/**
 * Upload → Crop → Personalize → Styles → Download. The current step is highlighted; every
 * reached step stays on the page, and a click scrolls to it.
 */
export function Stepper() {
  const states = useStepStates();
  const stages = useStageProgress();
  return (
    <nav className="stepper" aria-label="Steps" data-testid="stepper">
      <ol>
        {STEPS.map((step, i) => {
          const state = states[step.id];
          const stage = stages[step.id];
          return (
            <li key={step.id} className={`step step-${state}`} data-step={step.id} data-state={state}>
              <button
                type="button"
                className="step-button"
                aria-current={state === 'current' ? 'step' : undefined}
                disabled={state === 'locked'}
                onClick={() => document.getElementById(stepSectionId(step.id))?.scrollIntoView({ behavior: 'smooth', block: 'start' })}
              >
                <span className="step-number" aria-hidden="true">
                  {state === 'done' ? <CheckIcon /> : i + 1}
                </span>
                <span className="step-text">
                  <span className="stepper-label">{step.label}</span>
                  <span className="stepper-sub">{stage?.text ?? STATE_WORDS[state]}</span>
                </span>
              </button>
              {stage?.fraction !== undefined && (
                <ProgressBar value={stage.fraction} max={1} label={`${step.label} progress`} testId={`stage-progress-${step.id}`} />
              )}
            </li>
          );
        })}
      </ol>
    </nav>
  );
}
