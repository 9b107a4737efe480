// The styles the app offers after personalization. A pack lists its own in its manifest
// (`styles`: the embedded pack offers the 8 styles it was trained on, an SD1.5 pack the usual
// presets below); a manifest without the list gets the usual presets. `{trigger}` stands for
// the pack's rare identifier word (e.g. `sks`) and is filled in by `stylePrompt`.
export interface StylePreset {
  id: string;
  label: string;
  /** prompt template containing `{trigger}` */
  prompt: string;
}

export const TRIGGER_PLACEHOLDER = '{trigger}';

/** The usual presets: prompts an SD1.5 model knows (the paper's examples and their kin). */
export const STYLE_PRESETS: readonly StylePreset[] = [
  { id: 'pixar', label: 'Pixar character', prompt: 'a photo of {trigger} face as a Pixar character' },
  { id: 'van-gogh', label: 'Van Gogh painting', prompt: 'a portrait of {trigger} face in the style of a Van Gogh painting' },
  { id: 'pencil-sketch', label: 'Pencil sketch', prompt: 'a drawing of {trigger} face as a pencil sketch' },
  { id: 'rock-star', label: 'Rock star', prompt: 'a photo of {trigger} face as a rock star on stage' },
  { id: 'instagram-selfie', label: 'Instagram selfie', prompt: 'a photo of {trigger} face as an Instagram selfie' },
  { id: 'oil-portrait', label: 'Oil portrait', prompt: 'a painting of {trigger} face as an oil portrait' },
  { id: 'watercolor', label: 'Watercolor', prompt: 'a picture of {trigger} face as a watercolor painting' },
  { id: 'pop-art', label: 'Pop art', prompt: 'a portrait of {trigger} face in pop art style' },
  { id: 'pixel-art', label: 'Pixel art', prompt: 'an image of {trigger} face as pixel art' },
  { id: 'neon', label: 'Neon portrait', prompt: 'a photo of {trigger} face as a neon portrait' },
  { id: 'black-and-white', label: 'Black and white photo', prompt: 'a close up of {trigger} face in a black and white photo' },
];

export function stylePrompt(preset: StylePreset, trigger: string): string {
  return preset.prompt.split(TRIGGER_PLACEHOLDER).join(trigger);
}

/** The styles a pack offers: its manifest's list, or the usual presets when it has none. */
export function packStylePresets(manifest: { styles?: readonly StylePreset[] }): readonly StylePreset[] {
  return manifest.styles && manifest.styles.length > 0 ? manifest.styles : STYLE_PRESETS;
}
