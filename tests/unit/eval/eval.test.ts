// hyperbooth eval on the committed tiny pack and the committed scorers, with onnxruntime-node:
// the scorers must work on real held-out renders, and the command must produce the table's JSON.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { identitySeed, photoSeed, renderPhoto, sampleIdentity } from '../../../src/dataset';
import { measureAccuracy } from '../../../src/eval/accuracy';
import { DEFAULT_EVAL_STYLES, METHODS, scoreRenderedUpperBound } from '../../../src/eval/evaluate';
import { cosine } from '../../../src/eval/features';
import { fitScorers, parseScorers, scorersFromModel, serializeScorers, DEFAULT_FIT } from '../../../src/eval/scorers';
import { DEFAULT_SCORERS, run } from '../../../tools/commands/eval';

const TINY = fileURLToPath(new URL('../../../public/models/tiny', import.meta.url));
const committed = () => scorersFromModel(parseScorers(readFileSync(DEFAULT_SCORERS, 'utf8')));

afterEach(() => vi.restoreAllMocks());

describe('scorers on held-out renders (world 2, never used in fitting)', () => {
  it('the identity recognizer separates identities and the style classifier names styles', () => {
    const acc = measureAccuracy(committed(), { ids: 30, worldSeed: 2 });
    // chance is 1/30 for top-1 and 0.5 for AUC
    expect(acc.identityTop1).toBeGreaterThan(0.4);
    expect(acc.identityTop1Styled).toBeGreaterThan(0.25);
    expect(acc.identityAuc).toBeGreaterThan(0.93);
    expect(acc.sameMean).toBeGreaterThan(acc.differentMean + 0.2);
    expect(acc.styleAccuracy).toBeGreaterThan(0.8);
  });

  it("the renderer's own styled images of an identity score high: the table's scale", () => {
    const u = scoreRenderedUpperBound(committed(), { ids: 4, seed: 2, styles: DEFAULT_EVAL_STYLES }, 64);
    expect(u.identity).toBeGreaterThan(0.25);
    expect(u.style).toBeGreaterThan(0.8);
    expect(u.similarity).toBeGreaterThan(0);
  });

  it('the committed file records the accuracies it was fitted with', () => {
    const acc = committed().model.accuracy!;
    expect(acc.identityAuc).toBeGreaterThan(0.93);
    expect(acc.styleAccuracy).toBeGreaterThan(0.8);
  });
});

describe('fitting and the scorers file', () => {
  it('fits on a few identities and round-trips through the file format', () => {
    const model = fitScorers({ ...DEFAULT_FIT, ids: 8, photos: 2, softmax: { ...DEFAULT_FIT.softmax, iterations: 50 } });
    const a = scorersFromModel(model);
    const b = scorersFromModel(parseScorers(serializeScorers(model)));
    const seed = identitySeed('heldout', 0, 3);
    const img = renderPhoto(sampleIdentity(seed), photoSeed(seed, 0));
    expect(Array.from(b.identity(img))).toEqual(Array.from(a.identity(img)));
    expect(Array.from(b.styleProbabilities(img))).toEqual(Array.from(a.styleProbabilities(img)));
    expect(cosine(a.descriptor(img), b.descriptor(img))).toBeCloseTo(1, 6);
    const p = a.styleProbabilities(img);
    expect(p.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
  });

  it('rejects files that are not scorers or whose shapes disagree', () => {
    expect(() => parseScorers('{"format":"x","version":1}')).toThrow(/not a hyperbooth-eval-scorers/);
    const model = JSON.parse(readFileSync(DEFAULT_SCORERS, 'utf8'));
    model.identity.classes += 1;
    expect(() => parseScorers(JSON.stringify(model))).toThrow(/identity projection/);
  });
});

describe('hyperbooth eval on the tiny pack', () => {
  it('runs on 2 held-out identities and writes the JSON with all five methods', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-eval-'));
    const json = join(dir, 'table.json');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await run(['--pack', TINY, '--ids', '2', '--seed', '5', '--json', json, '--steps-image', '2', '--ft-steps', '2', '--db-steps', '4', '--styles', 'photo,pop-art', '--images', join(dir, 'sheets')]);
    expect(code).toBe(0);
    // one contact sheet per identity: selfie + 2 styles wide, 5 methods + the renders high
    for (const i of [0, 1]) {
      const png = readFileSync(join(dir, 'sheets', `identity-${i}.png`));
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([3 * 64 + 2 * 2, 6 * 64 + 5 * 2]);
    }
    const out = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(out).sort()).toEqual(['ids', 'methods', 'seed']);
    expect(out.ids).toBe(2);
    expect(out.seed).toBe(5);
    expect(Object.keys(out.methods).sort()).toEqual([...METHODS].sort());
    for (const m of METHODS) {
      const s = out.methods[m];
      expect(Object.keys(s).sort()).toEqual(['identity', 'seconds', 'similarity', 'style']);
      expect(s.identity).toBeGreaterThanOrEqual(-1);
      expect(s.identity).toBeLessThanOrEqual(1);
      expect(s.similarity).toBeGreaterThanOrEqual(-1);
      expect(s.similarity).toBeLessThanOrEqual(1);
      expect(s.style).toBeGreaterThanOrEqual(0);
      expect(s.style).toBeLessThanOrEqual(1);
      expect(s.seconds).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(s.seconds)).toBe(true);
    }
    expect(out.methods.base.seconds).toBeLessThan(0.01);
    // 4 steps from zero take longer than 2
    expect(out.methods['dreambooth-400'].seconds).toBeGreaterThan(out.methods['no-hyper'].seconds);
    const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
    for (const m of METHODS) expect(printed).toContain(m);
    expect(printed).toMatch(/identity +style +similarity +seconds/);
    expect(printed).toMatch(/\(renders\) +0\.\d+/);
  });

  it.each([
    [['--ids', '2', '--seed', '1'], /missing --pack/],
    [['--pack', TINY, '--seed', '1'], /missing --ids/],
    [['--pack', TINY, '--ids', '0', '--seed', '1'], /--ids must be an integer in 1/],
    [['--pack', TINY, '--ids', 'two', '--seed', '1'], /--ids expects a non-negative integer/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--styles', 'cubism'], /unknown style 'cubism'/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--lr', '5'], /--lr must be in/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--scheduler', 'pndm'], /--scheduler must be one of/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--frobnicate', '3'], /unknown flag --frobnicate/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--scorers', '/nonexistent/s.json'], /cannot read the scorers/],
  ])('refuses %j with a clear message', async (argv, message) => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await run(argv as string[])).toBe(2);
    expect(String(err.mock.calls[0][0])).toMatch(message);
  });
});
