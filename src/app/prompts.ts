// Which prompts a Generate click sends: the selected style presets plus the person's own lines,
// each carrying the trigger word once a personalization is active (the personal weights only
// answer to that word).
import { STYLE_PRESETS, stylePrompt, type StylePreset } from '../packs/stylePresets';

export interface PromptItem {
  /** the text sent to the model */
  prompt: string;
  /** what the gallery card calls it: a style's label, or "Your prompt" */
  label: string;
  /** the trigger word was added to the person's own text */
  triggerAdded: boolean;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function containsWord(text: string, word: string): boolean {
  if (!word) return false;
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegExp(word)}($|[^\\p{L}\\p{N}_])`, 'iu').test(text);
}

// "a photo of a face" → "a photo of a sks face": the paper's "a [V] face" wording.
const SUBJECT = /\b(face|person|man|woman|boy|girl|guy|lady)\b/i;
// "as a Pixar character" reads on naturally after "a sks face"; anything else gets a comma.
const CONTINUES = /^(as|in|on|at|with|wearing|by|under|inside|near|holding|riding|made|painted|drawn)\b/i;

/** The prompt with the trigger word in it: unchanged when it already has it. */
export function withTrigger(prompt: string, trigger: string): { prompt: string; added: boolean } {
  const text = prompt.trim();
  if (!trigger || containsWord(text, trigger)) return { prompt: text, added: false };
  const subject = SUBJECT.exec(text);
  if (subject) {
    return { prompt: `${text.slice(0, subject.index)}${trigger} ${text.slice(subject.index)}`, added: true };
  }
  if (text === '') return { prompt: `a photo of ${trigger} face`, added: true };
  return { prompt: CONTINUES.test(text) ? `a ${trigger} face ${text}` : `a ${trigger} face, ${text}`, added: true };
}

/** The person's own prompts: one per non-empty line. */
export function customPromptLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** `presets`: the loaded pack's styles (packStylePresets); the usual presets by default. */
export function selectedPresets(ids: readonly string[], presets: readonly StylePreset[] = STYLE_PRESETS): StylePreset[] {
  return presets.filter((p) => ids.includes(p.id));
}

/**
 * Styles first (in the presets' order, so the grid reads the same every time), then the
 * person's lines. `personalized`: a personalization is active, so own prompts must carry the
 * trigger; without one they are sent as written (plain text-to-image).
 */
export function promptItems(
  styleIds: readonly string[],
  customText: string,
  trigger: string | undefined,
  personalized: boolean,
  presets: readonly StylePreset[] = STYLE_PRESETS,
): PromptItem[] {
  const items: PromptItem[] = [];
  if (trigger) {
    for (const preset of selectedPresets(styleIds, presets)) {
      items.push({ prompt: stylePrompt(preset, trigger), label: preset.label, triggerAdded: false });
    }
  }
  for (const line of customPromptLines(customText)) {
    if (personalized && trigger) {
      const t = withTrigger(line, trigger);
      items.push({ prompt: t.prompt, label: 'Your prompt', triggerAdded: t.added });
    } else {
      items.push({ prompt: line, label: 'Your prompt', triggerAdded: false });
    }
  }
  return items;
}
