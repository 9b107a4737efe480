// Style presets come from the pack (issue 15 item 4): the embedded pack offers the 8 styles it
// was trained on, worded exactly as its training captions and the evaluation word them; a pack
// without a list (or an SD1.5 pack, whose packer writes them) offers the usual presets.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packStylePresets, stylePrompt, STYLE_PRESETS } from '../../../src/packs/stylePresets';
import { buildTinyPack } from '../../../src/models';
import { datasetStylePresets } from '../../../src/models/tinyStyles';
import { caption, identitySeed, sampleIdentity, STYLES } from '../../../src/dataset';
import { promptItems } from '../../../src/app/prompts';
import { buildRequest } from '../../../src/app/request';
import type { PackManifest } from '../../../src/packs/manifest';

const committed = JSON.parse(readFileSync(fileURLToPath(new URL('../../../public/models/tiny/manifest.json', import.meta.url)), 'utf8')) as PackManifest;

describe('style presets from the pack', () => {
  it('the embedded pack (committed and freshly built) offers its 8 trained styles, not the SD1.5 presets', () => {
    const fresh = buildTinyPack().manifest;
    for (const m of [committed, fresh]) {
      const offered = packStylePresets(m);
      expect(offered.map((p) => p.id)).toEqual([...STYLES]);
      expect(offered.map((p) => p.label)).toEqual(['Photo', 'Black and white photo', 'Pencil sketch', 'Pop art', 'Pixel art', 'Watercolor', 'Neon portrait', 'Oil painting']);
      expect(offered.some((p) => /pixar|rock star/i.test(p.prompt))).toBe(false);
    }
  });

  it("each embedded style's prompt is the caption the evaluation sends for that style", () => {
    const identity = sampleIdentity(identitySeed('heldout', 3));
    const byId = new Map(datasetStylePresets().map((p) => [p.id, p]));
    for (const style of STYLES) {
      expect(stylePrompt(byId.get(style)!, 'sks')).toBe(caption(identity, style, { subject: 'a sks face' }));
    }
    expect(stylePrompt(byId.get('pencil-sketch')!, 'sks')).toBe('a pencil sketch of a sks face');
  });

  it('a manifest without styles offers the usual presets', () => {
    const old: PackManifest = { ...committed, styles: undefined };
    expect(packStylePresets(old)).toBe(STYLE_PRESETS);
    expect(packStylePresets({ styles: [] })).toBe(STYLE_PRESETS);
  });

  it("Generate's prompts use the pack's styles, and a custom prompt still works beside them", () => {
    const presets = packStylePresets(committed);
    const items = promptItems(['oil-painting', 'photo', 'pixar'], 'on the moon', 'sks', true, presets);
    // styles in the pack's order; an id the pack does not offer (an SD1.5 preset) makes no image
    expect(items).toEqual([
      { prompt: 'a photo of a sks face', label: 'Photo', triggerAdded: false },
      { prompt: 'an oil painting of a sks face', label: 'Oil painting', triggerAdded: false },
      { prompt: 'a sks face on the moon', label: 'Your prompt', triggerAdded: true },
    ]);
    const form = { prompt: '', negativePrompt: '', seed: '1', steps: '10', guidance: '7.5', scheduler: 'ddim' as const, count: '1' };
    const built = buildRequest(form, { styleIds: ['neon'], trigger: 'sks', personalized: true, presets });
    expect(typeof built === 'string' ? built : built.request.prompts).toEqual(['a neon portrait of a sks face']);
    expect(buildRequest(form, { styleIds: ['pixar'], trigger: 'sks', personalized: true, presets })).toBe('Pick a style or write a prompt first.');
  });
});
