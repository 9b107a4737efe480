// The vocabulary of the tiny pack's tokenizer: every word of the app's style presets, the
// personalization prompt ("a sks face"), every word of the synthetic dataset's captions (the pack
// is trained on them: one token per word keeps captions short and attributes separable), and
// common portrait words users type. Words outside it still tokenize (byte-level fallback), just
// into more pieces.
import { STYLE_PRESETS, TRIGGER_PLACEHOLDER } from '../packs/stylePresets';
import { datasetWords } from '../dataset/captions';

export const TINY_TRIGGER = 'sks';

const COMMON_WORDS = [
  'a', 'an', 'the', 'of', 'in', 'on', 'with', 'and', 'as', 'at', 'by', 'for', 'from', 'to', 'wearing',
  'photo', 'picture', 'image', 'painting', 'drawing', 'portrait', 'selfie', 'sketch', 'render', 'illustration',
  'face', 'person', 'man', 'woman', 'boy', 'girl', 'child', 'people', 'head', 'smile', 'smiling', 'eyes', 'hair',
  'style', 'art', 'artwork', 'realistic', 'detailed', 'high', 'quality', 'best', 'beautiful', 'cinematic', 'lighting',
  'close', 'up', 'closeup', 'studio', 'background', 'light', 'dark', 'bright', 'soft', 'colorful', 'vintage', 'digital',
  'cartoon', 'anime', 'comic', 'character', 'disney', 'pixar', '3d', 'oil', 'watercolor', 'pencil', 'charcoal', 'ink',
  'pop', 'pixel', 'neon', 'black', 'white', 'red', 'blue', 'green', 'gold', 'golden', 'color',
  'van', 'gogh', 'monet', 'picasso', 'warhol', 'rembrandt', 'rock', 'star', 'stage', 'astronaut', 'superhero', 'king', 'queen',
  'instagram', 'magazine', 'cover', 'hat', 'glasses', 'suit', 'beach', 'city', 'forest', 'space', 'sunset', 'night',
  'blurry', 'ugly', 'deformed', 'low', 'bad', 'text', 'watermark',
];

function wordsOf(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

/** Sorted, de-duplicated lowercase words for `buildClipTokenizerJson`. */
export function promptWords(): string[] {
  const words = new Set<string>([TINY_TRIGGER, ...COMMON_WORDS, ...datasetWords()]);
  for (const p of STYLE_PRESETS) for (const w of wordsOf(p.prompt.split(TRIGGER_PLACEHOLDER).join(' '))) words.add(w);
  return [...words].sort();
}
