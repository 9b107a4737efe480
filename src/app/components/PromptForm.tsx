import { generateImages, randomSeed } from '../actions';
import { SCHEDULERS, useAppStore } from '../store';
import type { SchedulerName } from '../../../workers/api';
import { StylePresets } from './StylePresets';
import { GeneratePanel } from './GeneratePanel';

function DiceIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.8">
      <rect x="3.5" y="3.5" width="17" height="17" rx="4" />
      <circle cx="8.5" cy="8.5" r="1.3" fill="currentColor" />
      <circle cx="15.5" cy="15.5" r="1.3" fill="currentColor" />
      <circle cx="12" cy="12" r="1.3" fill="currentColor" />
    </svg>
  );
}

/** Prompt, presets and sampling settings; Ctrl/⌘+Enter generates. */
export function PromptForm() {
  const settings = useAppStore((s) => s.settings);
  const setSettings = useAppStore((s) => s.setSettings);
  const busy = useAppStore((s) => s.busy);
  const trigger = useAppStore((s) => s.pack.trigger);

  return (
    <form
      className="card prompt-form"
      // Our own checks explain what is wrong in the banner; the browser's bubbles would not.
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void generateImages();
      }}
    >
      <label className="field">
        <span className="field-label">Prompt</span>
        <textarea
          data-testid="prompt"
          rows={3}
          value={settings.prompt}
          placeholder={trigger ? `a photo of ${trigger} person as a Pixar character` : 'Describe the image'}
          onChange={(e) => setSettings({ prompt: e.target.value })}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void generateImages();
            }
          }}
        />
      </label>
      {trigger && (
        <p className="hint">
          <code>{trigger}</code> stands for the subject of this pack.
        </p>
      )}
      <StylePresets />

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
          <span className="field-label">Images</span>
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
