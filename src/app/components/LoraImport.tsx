import { useId, useState } from 'react';
import { importLoraFile, type LoraImportOutcome } from '../libraryActions';
import { formatStrength } from '../personalizedText';
import { useAppStore } from '../store';

/**
 * A person's existing SD1.5 LoRA (kohya / A1111 / ComfyUI or PEFT / diffusers keys) into the
 * slots. It replaces the active personalization: one set of personal weights at a time.
 */
export function LoraImport() {
  const busy = useAppStore((s) => s.task !== null);
  const ready = useAppStore((s) => s.pack.phase === 'ready');
  const [strength, setStrength] = useState(1);
  const [importing, setImporting] = useState(false);
  const [outcome, setOutcome] = useState<LoraImportOutcome | null>(null);
  const sliderId = useId();
  const disabled = busy || !ready;

  const onFile = async (file: File) => {
    setImporting(true);
    setOutcome(null);
    try {
      setOutcome((await importLoraFile(file, strength)) ?? null);
    } finally {
      setImporting(false);
    }
  };

  return (
    <div className="lora-import" data-testid="lora-import-panel">
      <div className="field-row">
        <label className={`import-button${disabled ? ' import-disabled' : ''}`} title="Apply an existing SD1.5 LoRA (.safetensors with kohya or PEFT keys)">
          <input
            type="file"
            className="visually-hidden"
            accept=".safetensors,application/octet-stream"
            data-testid="lora-import"
            disabled={disabled}
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) void onFile(file);
            }}
          />
          {importing ? 'Importing…' : 'Import LoRA (kohya / PEFT)'}
        </label>
        <label className="lora-strength" htmlFor={sliderId}>
          strength <output data-testid="lora-strength-value">{formatStrength(strength)}</output>
        </label>
        <input
          id={sliderId}
          type="range"
          min={0}
          max={2}
          step={0.05}
          value={strength}
          data-testid="lora-strength"
          aria-label="LoRA strength"
          onChange={(e) => setStrength(Number(e.target.value))}
        />
      </div>
      <p className="hint-line">An imported LoRA replaces the personalization in use (one at a time); it is kept in this list.</p>
      {outcome && (
        <p className="notice" data-testid="lora-import-result">
          {outcome.summary}
          {outcome.warnings.map((w) => (
            <span key={w} className="lora-warning warn-text" data-testid="lora-import-warning">
              {w}
            </span>
          ))}
        </p>
      )}
    </div>
  );
}
