// The app's side of pack choice, in Node: which pack loads at startup, how a typed URL becomes a
// manifest URL, and the download-size sentence.
import { describe, expect, it } from 'vitest';
import { chooseStartupPack } from '../../../src/app/packChoice';
import type { PackIndexEntry } from '../../../src/app/packIndex';
import type { PackDownloadPlan } from '../../../src/packs/plan';

const listed: PackIndexEntry[] = [
  { id: 'tiny', name: 'Tiny', manifestUrl: 'http://h/models/tiny/manifest.json', size: 9590235 },
  { id: 'sd15', name: 'SD 1.5', manifestUrl: 'http://h/models/sd15/manifest.json' },
];

describe('chooseStartupPack', () => {
  it('takes the first listed pack when nothing was chosen', () => {
    expect(chooseStartupPack(listed, undefined)).toBe(listed[0]);
  });
  it('takes the saved listed pack', () => {
    expect(chooseStartupPack(listed, { manifestUrl: listed[1].manifestUrl })).toBe(listed[1]);
  });
  it('takes a saved pack URL that the index does not list', () => {
    expect(chooseStartupPack(listed, { manifestUrl: 'http://other/p/manifest.json' })).toEqual({
      id: 'custom',
      name: undefined,
      manifestUrl: 'http://other/p/manifest.json',
    });
  });
});

describe('planText', async () => {
  // packPickerActions imports the worker client's module graph; only planText is pure
  const { planText } = await import('../../../src/app/packPickerActions');
  const plan = (files: PackDownloadPlan['files']): PackDownloadPlan => ({
    manifest: {} as PackDownloadPlan['manifest'],
    files,
    totalBytes: files.reduce((a, f) => a + f.size, 0),
    downloadBytes: files.reduce((a, f) => a + (f.cached ? 0 : f.size - f.savedBytes), 0),
  });
  it('says Cached when nothing is left to fetch', () => {
    expect(planText(plan([{ path: 'a', size: 5e6, cached: true, savedBytes: 0 }]))).toBe('Cached');
  });
  it('counts only the files not cached', () => {
    expect(planText(plan([{ path: 'a', size: 5e6, cached: true, savedBytes: 0 }, { path: 'b', size: 9_590_235, cached: false, savedBytes: 0 }]))).toBe('Download 9.6 MB');
  });
  it('says what an unfinished download saved', () => {
    expect(planText(plan([{ path: 'b', size: 4_186_112, cached: false, savedBytes: 2_097_152 }]))).toBe('Download 2.1 MB (resumes: 2.1 MB saved)');
  });
});
