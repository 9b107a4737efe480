import type { LoraFileFormat } from '../../../workers/api';
import { personalizationFileName } from '../fileNames';
import { stepSectionId } from '../hooks/useFlow';
import { downloadPersonalization, stopUsing } from '../libraryActions';
import { fineTuneSummary, formatStrength, weightsRankText } from '../personalizedText';
import { useAppStore } from '../store';
import { LineIcon } from './LineIcon';

const DOWNLOADS: { format: LoraFileFormat; label: string; title: string }[] = [
  { format: 'lidb', label: 'LiDB file', title: 'HyperBooth’s own file: small, loads back into this app' },
  { format: 'kohya', label: 'kohya LoRA', title: 'Standard LoRA for A1111 / ComfyUI / kohya (SD1.5 keys)' },
  { format: 'peft', label: 'PEFT LoRA', title: 'Standard LoRA for diffusers / PEFT' },
];

function DownloadIcon() {
  return (
    <LineIcon size={15} strokeWidth={2.2}>
      <path d="M12 4v11m0 0l-4.5-4.5M12 15l4.5-4.5M5 19h14" strokeLinecap="round" strokeLinejoin="round" />
    </LineIcon>
  );
}

/**
 * Shown from the moment personal weights are active: who they are, and the three downloads
 * (step 5), right next to the styles and Generate.
 */
export function PersonalizedBar() {
  const active = useAppStore((s) => s.active);
  const thumb = useAppStore((s) => (s.active?.id ? s.library.thumbnails[s.active.id] : undefined));
  const busy = useAppStore((s) => s.task !== null);
  if (!active) return null;
  const isLora = active.kind === 'lora';
  const fineTune = fineTuneSummary(active.settings, active.stepsDone, active.stoppedEarly);
  const early = active.stoppedEarly !== undefined || (active.settings !== undefined && active.stepsDone !== undefined && active.stepsDone < active.settings.steps);
  return (
    <div className="personalized" data-testid="personalized" id={stepSectionId('download')}>
      <div className="personalized-head">
        {thumb ? <img className="avatar" src={thumb} alt="" width={44} height={44} /> : <span className="avatar avatar-letter">{active.name.slice(0, 1).toUpperCase()}</span>}
        <div className="personalized-text">
          <p className="personalized-title">
            Personalized: <strong data-testid="active-name">{active.name}</strong>
          </p>
          <p className="personalized-meta">
            {isLora ? (
              <>LoRA · rank {active.rank} · strength {formatStrength(active.strength ?? 1)}</>
            ) : (
              <>
                {weightsRankText(active)} · trigger <code>{active.trigger}</code>
              </>
            )}
            {active.source === 'import' ? ' · imported' : ''}
            {!active.id ? ' · not saved in this browser' : ''}
          </p>
          {fineTune && (
            <p className={`personalized-meta${early ? ' warn-text' : ''}`} data-testid="personalized-steps">
              Fine-tune: {fineTune}
            </p>
          )}
        </div>
        <button type="button" className="link-button" onClick={() => void stopUsing()} disabled={busy} title="Generate without the personal weights">
          Stop using
        </button>
      </div>
      <div className="downloads" role="group" aria-label="Download the personal weights">
        {DOWNLOADS.map((d) => (
          <button
            key={d.format}
            type="button"
            className="download-button"
            data-testid={`download-${d.format}`}
            title={isLora && d.format === 'lidb' ? 'An imported LoRA has no LiDB form: download it as kohya or PEFT' : `${d.title} — ${personalizationFileName(active.name, d.format)}`}
            disabled={busy || (isLora && d.format === 'lidb')}
            onClick={() => void downloadPersonalization(d.format)}
          >
            <DownloadIcon />
            {d.label}
          </button>
        ))}
      </div>
    </div>
  );
}
