import { generateImages, randomSeed } from '../actions';
import { stepSectionId } from '../hooks/useFlow';
import { promptItems } from '../prompts';
import { SCHEDULERS, useAppStore } from '../store';
import type { SchedulerName } from '../../../workers/api';
import { StylePresets } from './StylePresets';
import { GeneratePanel } from './GeneratePanel';
import { PersonalizedBar } from './PersonalizedBar';
import { LineIcon } from './LineIcon';

function DiceIcon() {
  return (
    <LineIcon size={18} strokeWidth={1.8}>
      <rect x="3.5" y="3.5" width="17" height="17" rx="4" />
      <circle cx="8.5" cy="8.5" r="1.3" fill="currentColor" />
      <circle cx="15.5" cy="15.5" r="1.3" fill="currentColor" />
      <circle cx="12" cy="12" r="1.3" fill="currentColor" />
    </LineIcon>
  );
}

/** With a personalization active: the person's own lines as they will be sent (trigger added). */
function TriggerPreview() {
  const prompt = useAppStore((s) => s.settings.prompt);
  const trigger = useAppStore((s) => s.pack.trigger);
  const personalized = useAppStore((s) => s.active !== null);
  if (!personalized || !trigger) return null;
  const added = promptItems([], prompt, trigger, true).filter((p) => p.triggerAdded);
  if (added.length === 0) return null;
  return (
    <div className="trigger-preview" data-testid="trigger-preview">
      <p>
        Your face answers to <code>{trigger}</code>, so it was added:
      </p>
      <ul>
        {added.map((p, i) => (
          <li key={i}>{p.prompt}</li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Step 4: styles (multi-select) and the person's own prompts, sampling settings and Generate.
 * Without a personalization it is plain text-to-image with the pack's model; with one, every
 * image goes through the personal weights. Ctrl/⌘+Enter generates.
 */
export function PromptForm() {
  const settings = useAppStore((s) => s.settings);
  const setSettings = useAppStore((s) => s.setSettings);
  const busy = useAppStore((s) => s.task === 'generate');
  const trigger = useAppStore((s) => s.pack.trigger);
  const active = useAppStore((s) => s.active);

  return (
    <form
      className="card prompt-form"
      id={stepSectionId('styles')}
      aria-labelledby="styles-title"
      // Our own checks explain what is wrong in the banner; the browser's bubbles would not.
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void generateImages();
      }}
    >
      <h2 id="styles-title" className="card-title">
        <span className="card-step">4</span> {active ? 'Styles' : 'Create'}
      </h2>
      <PersonalizedBar />
      {!active && trigger && (
        <p className="hint-line" data-testid="not-personalized-hint">
          Personalize (or pick one of your personalizations) to put your face in these styles. Until then they use the plain model, for
          which <code>{trigger}</code> means nothing.
        </p>
      )}
      <StylePresets />
      <label className="field">
        <span className="field-label">{active ? 'Your own prompts (one per line)' : 'Prompt (one per line)'}</span>
        <textarea
          data-testid="prompt"
          rows={3}
          value={settings.prompt}
          placeholder={trigger ? `a photo of ${trigger} face as an astronaut on the moon` : 'Describe the image'}
          onChange={(e) => setSettings({ prompt: e.target.value })}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void generateImages();
            }
          }}
        />
      </label>
      <TriggerPreview />

      <label className="field">
        <span className="field-label">Negative prompt</span>
        <input
          type="text"
          data-testid="negative-prompt"
          value={settings.negativePrompt}
          onChange={(e) => setSettings({ negativePrompt: e.target.value })}
        />
      </label>

      <fieldset className="params" disabled={busy}>
        <legend className="visually-hidden">Sampling settings</legend>
        <label className="field">
          <span className="field-label">Steps</span>
          <input
            type="number"
            min={1}
            max={150}
            step={1}
            data-testid="steps"
            value={settings.steps}
            onChange={(e) => setSettings({ steps: e.target.value })}
          />
        </label>
        <label className="field">
          <span className="field-label">Guidance</span>
          <input
            type="number"
            min={0}
            max={30}
            step={0.5}
            data-testid="guidance"
            value={settings.guidance}
            onChange={(e) => setSettings({ guidance: e.target.value })}
          />
        </label>
        <label className="field">
          <span className="field-label">Per prompt</span>
          <input
            type="number"
            min={1}
            max={4}
            step={1}
            data-testid="count"
            value={settings.count}
            onChange={(e) => setSettings({ count: e.target.value })}
          />
        </label>
        <label className="field wide-field">
          <span className="field-label">Scheduler</span>
          <select
            data-testid="scheduler"
            value={settings.scheduler}
            onChange={(e) => setSettings({ scheduler: e.target.value as SchedulerName })}
          >
            {SCHEDULERS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field wide-field">
          <span className="field-label">Seed</span>
          <span className="seed-row">
            <input
              type="number"
              inputMode="numeric"
              min={0}
              step={1}
              data-testid="seed"
              value={settings.seed}
              onChange={(e) => setSettings({ seed: e.target.value })}
            />
            <button
              type="button"
              className="icon-button dice"
              aria-label="Random seed"
              title="Random seed"
              data-testid="dice"
              onClick={() => setSettings({ seed: String(randomSeed()) })}
            >
              <DiceIcon />
            </button>
          </span>
        </label>
      </fieldset>

      <GeneratePanel />
    </form>
  );
}
