// The embedded pack's styles are the synthetic world's 8 styles, prompted exactly as the
// pack's training captions and `hyperbooth eval` name them ("a pencil sketch of a sks face"):
// those are the only style words its text encoder learned.
import { STYLES, STYLE_CAPTION_PREFIX, type Style } from '../dataset/styles';
import { TRIGGER_PLACEHOLDER, type StylePreset } from '../packs/stylePresets';

const LABEL: Record<Style, string> = {
  photo: 'Photo',
  'black-and-white': 'Black and white photo',
  'pencil-sketch': 'Pencil sketch',
  'pop-art': 'Pop art',
  'pixel-art': 'Pixel art',
  watercolor: 'Watercolor',
  neon: 'Neon portrait',
  'oil-painting': 'Oil painting',
};

/** The subject of every personalization prompt: the paper's "a [V] face". */
export const PERSONAL_SUBJECT = `a ${TRIGGER_PLACEHOLDER} face`;

export function datasetStylePresets(): StylePreset[] {
  return STYLES.map((s) => ({ id: s, label: LABEL[s], prompt: `${STYLE_CAPTION_PREFIX[s]} ${PERSONAL_SUBJECT}` }));
}
