// Captions name the style and the coarse, visible traits: "a photo of a woman with long red hair
// and round glasses", "a pencil sketch of a bald man with a beard". Every word a caption can use
// is in `datasetWords()`, so the tiny pack's tokenizer vocabulary can be checked against it.
import { BEARDS, GLASSES, HAIR_COLORS, HAIR_STYLES, type HairStyle, type Identity } from './identity';
import { STYLES, STYLE_CAPTION_PREFIX, type Style } from './styles';

const HAIR_PHRASE: Record<Exclude<HairStyle, 'bald'>, (color: string) => string> = {
  short: (c) => `short ${c} hair`,
  long: (c) => `long ${c} hair`,
  curly: (c) => `curly ${c} hair`,
  bob: (c) => `a ${c} bob`,
  ponytail: (c) => `a ${c} ponytail`,
  bun: (c) => `a ${c} bun`,
};
const GLASSES_PHRASE = { round: 'round glasses', square: 'square glasses' } as const;
const BEARD_PHRASE = { full: 'a beard', stubble: 'stubble' } as const;
const FRECKLES_PHRASE = 'freckles';

function joinList(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** "a woman with long red hair and round glasses", "a bald man with a beard". */
export function describeSubject(id: Identity): string {
  const parts: string[] = [];
  const bald = id.hair.style === 'bald';
  if (id.hair.style !== 'bald') parts.push(HAIR_PHRASE[id.hair.style](id.hair.color));
  if (id.glasses !== 'none') parts.push(GLASSES_PHRASE[id.glasses]);
  if (id.beard !== 'none') parts.push(BEARD_PHRASE[id.beard]);
  if (id.freckles.length > 0) parts.push(FRECKLES_PHRASE);
  const noun = `a ${bald ? 'bald ' : ''}${id.presentation}`;
  return parts.length ? `${noun} with ${joinList(parts)}` : noun;
}

export interface CaptionOptions {
  /** replaces the described person, e.g. "a sks face" for personalization prompts */
  subject?: string;
}

export function caption(id: Identity, style: Style, opts: CaptionOptions = {}): string {
  return `${STYLE_CAPTION_PREFIX[style]} ${opts.subject ?? describeSubject(id)}`;
}

const words = (text: string) => text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);

/** Every word a caption can contain, sorted and de-duplicated. */
export function datasetWords(): string[] {
  const out = new Set<string>(['a', 'with', 'and', 'man', 'woman', 'bald']);
  for (const s of STYLES) for (const w of words(STYLE_CAPTION_PREFIX[s])) out.add(w);
  for (const style of HAIR_STYLES) if (style !== 'bald') for (const c of HAIR_COLORS) for (const w of words(HAIR_PHRASE[style](c))) out.add(w);
  for (const g of GLASSES) if (g !== 'none') for (const w of words(GLASSES_PHRASE[g])) out.add(w);
  for (const b of BEARDS) if (b !== 'none') for (const w of words(BEARD_PHRASE[b])) out.add(w);
  out.add(FRECKLES_PHRASE);
  return [...out].sort();
}
