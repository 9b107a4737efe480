// Issue 15's third base-model target: the plain pack, asked by caption for a held-out person's
// coarse traits ("a photo of a woman with curly red hair and round glasses"), draws them. Each
// held-out person of world S is generated from their own caption in several styles and seeds,
// with no personalization. The identity embedder then compares every image with every person's
// photo: an image that carries its caption's traits sits closer to its own person than to the
// others (who have other traits). `gap` = mean cosine to the own person − mean cosine to the others.
import { caption, identitySeed, sampleIdentity, STYLES, type Style } from '../dataset';
import type { RgbaImage } from '../face/image';
import type { PackContents } from '../packs/types';
import { createPipeline } from '../pipeline/pipeline';
import type { SchedulerName } from '../diffusion/schedulers';
import type { Runtime } from '../runtime/types';
import { contactSheet, stackSheets } from './contactSheet';
import type { IdentityEmbedder } from './embedder/embedder';
import { referenceSelfie } from './evaluate';
import { cosine } from './features';

export interface CaptionTraitsSettings {
  seed: number;
  people: number;
  seeds: number;
  styles: Style[];
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
}

export const CAPTION_TRAITS_DEFAULTS: CaptionTraitsSettings = {
  seed: 29, people: 8, seeds: 2, styles: ['photo', 'pop-art', 'watercolor', 'oil-painting'], steps: 25, guidance: 7.5, scheduler: 'ddim',
};

export interface CaptionTraitsResult {
  settings: CaptionTraitsSettings;
  people: { identity: number; caption: string; own: number; others: number }[];
  /** means over people */
  own: number;
  others: number;
  gap: number;
  /** people whose images sit closer to them than to the mean other person */
  closerToOwn: number;
  /** per person: the photo, then seeds × styles generated from the caption */
  sheet: RgbaImage;
}

export async function captionTraits(runtime: Runtime, pack: PackContents, embedder: IdentityEmbedder, s: CaptionTraitsSettings): Promise<CaptionTraitsResult> {
  if (!(Number.isInteger(s.people) && s.people >= 2)) throw new Error(`--people must be an integer ≥ 2 (the others are the comparison), got ${s.people}`);
  for (const st of s.styles) if (!(STYLES as readonly string[]).includes(st)) throw new Error(`unknown style '${st}' (styles: ${STYLES.join(', ')})`);
  const size = pack.manifest.image.width;
  const pipeline = await createPipeline(runtime, pack);
  try {
    const photos: RgbaImage[] = [], made: RgbaImage[][] = [], captions: string[] = [];
    for (let i = 0; i < s.people; i++) {
      const identity = sampleIdentity(identitySeed('heldout', i, s.seed));
      photos.push(referenceSelfie(i, s.seed, size));
      captions.push(caption(identity, 'photo'));
      const images: RgbaImage[] = [];
      for (let j = 0; j < s.seeds; j++) {
        const out = await pipeline.generate({ prompts: s.styles.map((st) => caption(identity, st)), seed: 1000 * i + 100 * j, steps: s.steps, guidance: s.guidance, scheduler: s.scheduler });
        images.push(...out.map((g) => ({ width: g.width, height: g.height, data: g.rgba })));
      }
      made.push(images);
    }
    const photoEmb = await embedder.embed(photos);
    const people: CaptionTraitsResult['people'] = [];
    for (let i = 0; i < s.people; i++) {
      const emb = await embedder.embed(made[i]);
      let own = 0, others = 0;
      for (const e of emb) {
        own += cosine(e, photoEmb[i]);
        for (let k = 0; k < s.people; k++) if (k !== i) others += cosine(e, photoEmb[k]) / (s.people - 1);
      }
      people.push({ identity: i, caption: captions[i], own: own / emb.length, others: others / emb.length });
    }
    const mean = (k: 'own' | 'others') => people.reduce((a, p) => a + p[k], 0) / people.length;
    // one sheet: a person per row (photo first), stacked
    const rows = photos.map((photo, i) => contactSheet(photo, [{ images: made[i] }]));
    return {
      settings: s, people, own: mean('own'), others: mean('others'), gap: mean('own') - mean('others'),
      closerToOwn: people.filter((p) => p.own > p.others).length, sheet: stackSheets(rows),
    };
  } finally {
    await pipeline.release();
  }
}
