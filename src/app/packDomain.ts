// Whether the loaded pack only knows synthetic portraits, decided from what its manifest says
// about its training (no image analysis): then a real photo is out of its domain, and the person
// is told so where it matters (the Personalize card and the results).

export interface PackDomainFacts {
  name?: string;
  /** the manifest's notice: what the pack was trained on, in its own words */
  notice?: string;
  description?: string;
}

const SYNTHETIC = /\bsynthetic\b/i;

/** A pack whose manifest says it was trained on synthetic portraits (the embedded tiny pack). */
export function isSyntheticOnlyPack(pack: PackDomainFacts): boolean {
  return [pack.notice, pack.description, pack.name].some((text) => text !== undefined && SYNTHETIC.test(text));
}

/** The README section that tells how to add a real Stable Diffusion 1.5 model. */
export const REAL_PHOTO_SECTION = 'Adding your Stable Diffusion 1.5';
/** The pack picker's way to add one, in the app itself. */
export const REAL_PHOTO_BUTTON = 'Add a model from a file…';
/** The other way: the command line, for a pack a site serves. */
export const REAL_PHOTO_COMMAND = 'npx hyperbooth pack --from model.safetensors --out public/models/sd15';

export interface OffDomainText {
  /** one plain sentence on what goes wrong */
  headline: string;
  /** what to do instead */
  remedy: string;
}

/** The warning, worded for where it is shown: before personalizing, or beside the results. */
export function offDomainText(where: 'personalize' | 'results'): OffDomainText {
  const headline =
    where === 'personalize'
      ? 'This model pack only knows synthetic cartoon portraits. A photo of a real person runs, but the result will not look like you.'
      : 'These images come from a pack that only knows synthetic cartoon portraits: made from a real photo, they will not look like that person.';
  const remedy = `For real photos, add a Stable Diffusion 1.5 model (a .safetensors checkpoint) as a model pack: see “${REAL_PHOTO_SECTION}” in the README.`;
  return { headline, remedy };
}
