import { STYLE_PRESETS, stylePrompt } from '../../pipeline/stylePresets';
import { useAppStore } from '../store';

/**
 * One click writes a style prompt with the pack's subject trigger in it. A prompt that is empty
 * or is another preset is replaced; a prompt the person wrote is kept and the style appended.
 */
export function StylePresets() {
  const trigger = useAppStore((s) => s.pack.trigger);
  const prompt = useAppStore((s) => s.settings.prompt);
  const setSettings = useAppStore((s) => s.setSettings);
  if (!trigger) return null;
  const expanded = STYLE_PRESETS.map((p) => ({ ...p, text: stylePrompt(p, trigger) }));
  const current = prompt.trim();
  const isPreset = expanded.some((p) => p.text === current);

  return (
    <div className="presets" role="group" aria-label="Style presets">
      {expanded.map((p) => (
        <button
          key={p.id}
          type="button"
          className="chip"
          aria-pressed={p.text === current}
          data-testid={`preset-${p.id}`}
          title={p.text}
          onClick={() =>
            setSettings({ prompt: current === '' || isPreset ? p.text : `${current.replace(/[,\s]+$/, '')}, ${p.text}` })
          }
        >
          {p.label}
        </button>
      ))}
    </div>
  );
}
