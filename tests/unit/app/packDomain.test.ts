import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { isSyntheticOnlyPack, offDomainText, REAL_PHOTO_SECTION } from '../../../src/app/packDomain';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const tiny = JSON.parse(readFileSync(new URL('../../../public/models/tiny/manifest.json', import.meta.url), 'utf8')) as {
  name: string;
  notice?: string;
  description?: string;
};

describe('pack domain', () => {
  test('the embedded pack says it knows only synthetic portraits', () => {
    expect(isSyntheticOnlyPack(tiny)).toBe(true);
  });

  test('a pack that says nothing about synthetic training gets no warning', () => {
    expect(isSyntheticOnlyPack({ name: 'Stable Diffusion 1.5', description: 'converted from v1-5-pruned-emaonly.safetensors' })).toBe(false);
    expect(isSyntheticOnlyPack({})).toBe(false);
  });

  test('the warning names the README section that exists, in both places', () => {
    expect(readme).toContain(`## ${REAL_PHOTO_SECTION}`);
    for (const where of ['personalize', 'results'] as const) {
      const t = offDomainText(where);
      expect(t.headline).toMatch(/synthetic cartoon portraits/);
      expect(t.headline).toMatch(/not look like/);
      expect(t.remedy).toContain(REAL_PHOTO_SECTION);
    }
  });
});
