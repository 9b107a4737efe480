import { stepSectionId } from '../hooks/useFlow';
import { cancelPersonalize, startPersonalize } from '../personalizeActions';
import { personalizeFraction, personalizeProgressText } from '../statusText';
import { DEFAULT_FINE_TUNE, useAppStore, type FineTuneFields } from '../store';
import { LossChart } from './LossChart';
import { OffDomainNote } from './OffDomainNote';
import { ProgressBar } from './ProgressBar';

const FIELDS: { key: Exclude<keyof FineTuneFields, 'relaxation'>; label: string; testId: string; hint: string; inputMode: 'numeric' | 'decimal'; fineTuneOnly?: boolean }[] = [
  { key: 'steps', label: 'Steps', testId: 'ft-steps', hint: 'fine-tune steps (the paper: 40)', inputMode: 'numeric', fineTuneOnly: true },
  { key: 'learningRate', label: 'Learning rate', testId: 'ft-lr', hint: "Adam's step size", inputMode: 'decimal', fineTuneOnly: true },
  { key: 'rank', label: 'Rank', testId: 'ft-rank', hint: 'relaxed rank of the personal weights', inputMode: 'numeric' },
  { key: 'seed', label: 'Seed', testId: 'ft-seed', hint: 'noise and timesteps of the fine-tune', inputMode: 'numeric' },
];

const RELAXATION_CHOICES: { value: FineTuneFields['relaxation']; label: string; hint: string }[] = [
  {
    value: 'full-space',
    label: 'Full weight space (the paper)',
    hint: 'The prediction stays as it is and a rank-r LoRA learns beside it in the full weights: the paper\'s method. The download is larger than 100 KB.',
  },
  {
    value: 'aux-subspace',
    label: 'Inside the LiDB (small file)',
    hint: 'The LiDB itself is raised to rank r and trained inside its fixed 100×50 subspace per layer: the download stays a ~100 KB LiDB.',
  },
];

/** Fields whose default the pack sets when it loads (its manifest's train.defaults). */
const PACK_DEFAULTS: ReadonlySet<keyof FineTuneFields> = new Set(['steps', 'learningRate', 'rank']);

/**
 * Until the pack has loaded, an untouched pack-set field shows nothing rather than the app's
 * fallback, which the pack's own default (e.g. learning rate 0.01, not 0.001) then replaces.
 */
function shownValue(key: Exclude<keyof FineTuneFields, 'relaxation'>, value: string, packReady: boolean): string {
  return !packReady && PACK_DEFAULTS.has(key) && value === DEFAULT_FINE_TUNE[key] ? '' : value;
}

function RunProgress() {
  const run = useAppStore((s) => s.run);
  const running = useAppStore((s) => s.task === 'personalize');
  if (!run) return null;
  const p = run.progress;
  const fraction = p ? personalizeFraction(p) : 0;
  return (
    <div className="run">
      {running && (
        <div className="step-progress">
          <ProgressBar testId="personalize-progress" value={fraction} max={1} label="Personalization progress" />
          <span className="step-label" data-testid="personalize-stage">
            {run.cancelling ? 'Cancelling: keeping the last good weights…' : p ? personalizeProgressText(p).replace(/^Personalizing: /, '') : 'Starting…'}
          </span>
        </div>
      )}
      {run.outcome && (
        <p className={run.outcome.kind === 'cancelled' ? 'notice' : 'notice notice-warn'} role="status" data-testid="personalize-notice">
          {run.outcome.message}
        </p>
      )}
      <LossChart losses={run.losses} steps={run.steps} />
    </div>
  );
}

/**
 * Why Personalize cannot start yet. With weights already in use (chosen in the library, or
 * switched back on after a reload) and no photo, it says so instead of a bare "confirm the crop".
 */
function LockedHint({ hasSelfie, inUse }: { hasSelfie: boolean; inUse?: string }) {
  if (hasSelfie) return <p className="locked-hint">Confirm the crop first.</p>;
  if (inUse)
    return (
      <p className="locked-hint" data-testid="personalize-in-use">
        In use: <strong>{inUse}</strong>. To make a new personalization, upload a photo and confirm its crop.
      </p>
    );
  return <p className="locked-hint">Upload a photo and confirm its crop first.</p>;
}

/** Step 3: fine-tune settings, the Personalize button, progress with time left and the live loss. */
export function PersonalizeCard() {
  const fields = useAppStore((s) => s.fineTune);
  const setFields = useAppStore((s) => s.setFineTune);
  const confirmed = useAppStore((s) => s.selfie?.confirmed ?? false);
  const hasSelfie = useAppStore((s) => s.selfie !== null);
  const inUse = useAppStore((s) => (s.active ? s.active.name : undefined));
  const packReady = useAppStore((s) => s.pack.phase === 'ready');
  const support = useAppStore((s) => s.pack.personalize);
  const task = useAppStore((s) => s.task);
  const cancelling = useAppStore((s) => s.run?.cancelling ?? false);
  const backend = useAppStore((s) => s.backend);
  const running = task === 'personalize';
  const resumed = useAppStore((s) => s.resumedRun);
  const unsupported = packReady && support && (!support.lidb || (!support.fineTune && !support.hypernet));
  // a pack with a hypernetwork but no train graphs personalizes with 0 steps (personalizeActions)
  const noFineTune = support !== undefined && !support.fineTune;
  const locked = !confirmed && !running;

  return (
    <section className={`card step-card${locked ? ' step-card-locked' : ''}`} id={stepSectionId('personalize')} aria-labelledby="personalize-title">
      <h2 id="personalize-title" className="card-title">
        <span className="card-step">3</span> Personalize
      </h2>
      {unsupported ? (
        <p className="notice notice-warn">
          {support.lidb ? 'This model pack has neither a hypernetwork nor fine-tune graphs' : 'This model pack has no LiDB bases'}, so it cannot learn a face.
          Choose a pack that can.
        </p>
      ) : (
        <>
          <p className="hint-line">
            The hypernetwork predicts your personal weights from the crop, then a short fine-tune on your photo sharpens them. Everything runs
            here, on your {backend === 'webgpu' ? 'GPU' : 'CPU'}.
          </p>
          <OffDomainNote where="personalize" />
          <form
            className="ft-form"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              void startPersonalize();
            }}
          >
            <fieldset className="params params-4" disabled={running}>
              <legend className="visually-hidden">Fine-tune settings</legend>
              {FIELDS.map((f) => (
                <label className="field" key={f.key} title={f.hint}>
                  <span className="field-label">{f.label}</span>
                  <input
                    type="text"
                    inputMode={f.inputMode}
                    data-testid={f.testId}
                    value={f.fineTuneOnly && noFineTune ? '' : shownValue(f.key, fields[f.key], packReady)}
                    placeholder={PACK_DEFAULTS.has(f.key) && !packReady ? 'pack default' : undefined}
                    disabled={f.fineTuneOnly && noFineTune}
                    onChange={(e) => setFields({ [f.key]: e.target.value })}
                  />
                </label>
              ))}
            </fieldset>
            {!noFineTune && (
              <label className="field field-wide" title="How the fine-tune raises the rank of the hypernetwork's rank-1 prediction">
                <span className="field-label">Rank relaxation</span>
                <select
                  data-testid="ft-relaxation"
                  value={fields.relaxation}
                  disabled={running}
                  onChange={(e) => setFields({ relaxation: e.target.value as FineTuneFields['relaxation'] })}
                >
                  {RELAXATION_CHOICES.map((c) => (
                    <option key={c.value} value={c.value}>{c.label}</option>
                  ))}
                </select>
                <span className="hint-line" data-testid="ft-relaxation-hint">{RELAXATION_CHOICES.find((c) => c.value === fields.relaxation)?.hint}</span>
              </label>
            )}
            {noFineTune && (
              <p className="hint-line" data-testid="no-fine-tune">
                Fine-tune is unavailable: this pack has no fine-tune graphs, so Personalize gives the hypernetwork's prediction as it is.
              </p>
            )}
            <div className="button-row">
              <button type="submit" className="primary" data-testid="personalize" disabled={locked || running || task !== null || !packReady}>
                {running ? 'Personalizing…' : 'Personalize'}
              </button>
              {running && (
                <button type="button" className="secondary" data-testid="cancel-personalize" disabled={cancelling} onClick={() => void cancelPersonalize()}>
                  {cancelling ? 'Cancelling…' : 'Cancel'}
                </button>
              )}
            </div>
            {locked && <LockedHint hasSelfie={hasSelfie} inUse={inUse} />}
            {resumed && !running && (
              <p className="notice" role="status" data-testid="personalize-resumed">
                A reload stopped the last personalization. Its photo, crop and settings are back: press Personalize to run it again.
              </p>
            )}
            {running && <p className="hint-line">Cancel keeps the weights of the last finished step.</p>}
          </form>
          <RunProgress />
        </>
      )}
    </section>
  );
}
