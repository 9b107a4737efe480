import { STYLE_PRESETS, stylePrompt } from '../../packs/stylePresets';
import { useAppStore } from '../store';

/** Multi-select style presets: each selected style becomes one image in the grid. */
export function StylePresets() {
  const trigger = useAppStore((s) => s.pack.trigger);
  const presets = useAppStore((s) => s.pack.styles) ?? STYLE_PRESETS;
  const selected = useAppStore((s) => s.styleIds);
  const toggle = useAppStore((s) => s.toggleStyle);
  const setStyles = useAppStore((s) => s.setStyles);
  const busy = useAppStore((s) => s.task === 'generate');
  if (!trigger) return null;

  return (
    <div className="styles-block">
      <div className="field-row">
        <span className="field-label" id="styles-label">
          Styles {selected.length > 0 && <span className="count-pill">{selected.length}</span>}
        </span>
        {selected.length > 0 && (
          <button type="button" className="link-button" onClick={() => setStyles([])}>
            Clear
          </button>
        )}
      </div>
      <div className="presets" role="group" aria-labelledby="styles-label">
        {presets.map((p) => {
          const on = selected.includes(p.id);
          return (
            <button
              key={p.id}
              type="button"
              className="chip"
              aria-pressed={on}
              data-testid="style-option"
              data-style={p.id}
              title={stylePrompt(p, trigger)}
              disabled={busy}
              onClick={() => toggle(p.id)}
            >
              {on && (
                <span className="chip-check" aria-hidden="true">
                  ✓
                </span>
              )}
              {p.label}
            </button>
          );
        })}
      </div>
    </div>
  );
}
