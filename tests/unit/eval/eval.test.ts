// hyperbooth eval on the committed tiny pack and the committed scorers, with onnxruntime-node:
// the hand-made scorers (style, descriptor) must work on real held-out renders, and the command
// must produce the table's JSON, split into shards that merge to the same JSON, and resume.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { identitySeed, photoSeed, renderPhoto, sampleIdentity } from '../../../src/dataset';
import { measureAccuracy } from '../../../src/eval/accuracy';
import { methodNames } from '../../../src/eval/methods';
import { identityFileName, imagesFileName } from '../../../src/eval/runStore';
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
  // the LoRA methods; the weight-training baselines run in baselinesEval.test.ts
  const METHODS = ['base', 'only-hyper', 'hyperdreambooth', 'no-hyper', 'lidb-400'];
  const tiny = (out: string, ...more: string[]) => ['--pack', TINY, '--ids', '2', '--seed', '5', '--seeds', '1', '--out', out, '--steps-image', '2',
    '--ft-steps', '2', '--lidb-steps', '4', '--styles', 'photo,pop-art', '--methods', METHODS.join(','), ...more];
  const quietly = async (argv: string[]) => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const progress: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => { progress.push(String(s)); return true; });
    const code = await run(argv);
    const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
    vi.restoreAllMocks();
    return { code, printed, progress: progress.join('') };
  };
  // what a rerun may change: the measured seconds
  const withoutSeconds = (json: { methods: Record<string, { seconds?: number }> }) => {
    const copy = structuredClone(json);
    for (const m of Object.values(copy.methods)) delete m.seconds;
    return copy;
  };
  const dir = mkdtempSync(join(tmpdir(), 'hb-eval-'));
  const whole = join(dir, 'whole');

  it('runs on 2 held-out identities and writes the JSON with every method and its intervals', async () => {
    const json = join(dir, 'table.json');
    const { code, printed } = await quietly([...tiny(whole), '--json', json, '--images', join(dir, 'sheets')]);
    expect(code).toBe(0);
    // one contact sheet per identity: selfie + 2 styles wide, 5 methods + the renders high
    for (const i of [0, 1]) {
      const png = readFileSync(join(dir, 'sheets', `identity-${i}.png`));
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([3 * 64 + 2 * 2, (METHODS.length + 1) * 64 + METHODS.length * 2]);
    }
    const out = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(out).sort()).toEqual(['ids', 'methods', 'protocol', 'renders', 'seed']);
    expect([out.ids, out.seed, out.protocol.seeds, out.protocol.stepsImage]).toEqual([2, 5, 1, 2]);
    expect(Object.keys(out.methods)).toEqual(METHODS);
    for (const m of METHODS) expect(methodNames()).toContain(m);
    for (const m of METHODS) {
      const s = out.methods[m];
      expect(Object.keys(s).sort()).toEqual(['identity', 'identityCI', 'seconds', 'similarity', 'similarityCI', 'style', 'styleCI']);
      for (const k of ['identity', 'style', 'similarity']) {
        expect(s[`${k}CI`][0]).toBeLessThanOrEqual(s[k] + 1e-12);
        expect(s[`${k}CI`][1]).toBeGreaterThanOrEqual(s[k] - 1e-12);
      }
      expect(s.identity).toBeGreaterThanOrEqual(-1);
      expect(s.identity).toBeLessThanOrEqual(1);
      expect(s.style).toBeGreaterThanOrEqual(0);
      expect(s.style).toBeLessThanOrEqual(1);
      expect(Number.isFinite(s.seconds) && s.seconds >= 0).toBe(true);
    }
    expect(out.methods.base.seconds).toBeLessThan(0.01);
    // 4 steps from a fresh LiDB take longer than 2
    expect(out.methods['lidb-400'].seconds).toBeGreaterThan(out.methods['no-hyper'].seconds);
    // the renderer's own images of the person carry its identity
    expect(out.renders.identity).toBeGreaterThan(0.5);
    for (const m of METHODS) expect(printed).toContain(`| ${m} |`);
    expect(printed).toMatch(/\| \(renders\) \| 0\.\d+ \[/);
    expect(readdirSync(whole).sort()).toEqual([identityFileName(0), imagesFileName(0), identityFileName(1), imagesFileName(1), 'run.json']);
  });

  it('rescoring the stored images with the same scorers gives the same JSON, seconds included', async () => {
    const json = join(dir, 'rescored.json');
    const { code, printed } = await quietly(['rescore', whole, '--out', join(dir, 'rescored'), '--json', json]);
    expect(code).toBe(0);
    expect(printed).toContain('rescored 2 identities');
    expect(JSON.parse(readFileSync(json, 'utf8'))).toEqual(JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8')));
    // the first identity alone: its scores are the full run's identity 0
    const first = join(dir, 'first.json');
    expect((await quietly(['rescore', whole, '--out', join(dir, 'first'), '--ids', '1', '--json', first])).code).toBe(0);
    const one = JSON.parse(readFileSync(first, 'utf8'));
    expect(one.ids).toBe(1);
    const r0 = JSON.parse(readFileSync(join(whole, identityFileName(0)), 'utf8'));
    expect(one.methods.base.identity).toBe(r0.methods.base.identity);
    expect(one.methods['lidb-400'].identityCI).toEqual([r0.methods['lidb-400'].identity, r0.methods['lidb-400'].identity]);
  });

  it('two shards merged give the unsharded JSON', async () => {
    const shards = [join(dir, 'shard0'), join(dir, 'shard1')];
    for (const [k, d] of shards.entries()) expect((await quietly([...tiny(d), '--shard', `${k}/2`])).code).toBe(0);
    expect(readdirSync(shards[0])).toContain(identityFileName(0));
    expect(readdirSync(shards[0])).not.toContain(identityFileName(1));
    const merged = join(dir, 'merged.json');
    expect((await quietly(['merge', ...shards, '--json', merged])).code).toBe(0);
    expect(withoutSeconds(JSON.parse(readFileSync(merged, 'utf8')))).toEqual(withoutSeconds(JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8'))));
    // one shard alone is not the whole evaluation
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await run(['merge', shards[0]])).toBe(2);
    expect(String(err.mock.calls[0][0])).toMatch(/1 of 2 identities have no result yet/);
  });

  it('a killed run resumes: only the identities without a result are evaluated, and the JSON is the same', async () => {
    rmSync(join(whole, identityFileName(1)));
    const json = join(dir, 'resumed.json');
    const { code, progress, printed } = await quietly([...tiny(whole), '--json', json]);
    expect(code).toBe(0);
    expect(printed).toContain('1 identities to evaluate (1 already in');
    expect(progress).toMatch(/identity 1 \(1\/1\)/);
    expect(progress).not.toMatch(/identity 0 /);
    expect(withoutSeconds(JSON.parse(readFileSync(json, 'utf8')))).toEqual(withoutSeconds(JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8'))));
    // a run folder made with other settings is refused, not mixed
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await run([...tiny(whole), '--seeds', '2'])).toBe(2);
    expect(String(err.mock.calls[0][0])).toMatch(/holds an evaluation made with other settings/);
    // so is one whose methods trained at other rates (SWEPT_LR changed since): run.json records them
    const key = JSON.parse(readFileSync(join(whole, 'run.json'), 'utf8'));
    expect(Object.keys(key.rates)).toEqual(METHODS.filter((m) => !['base', 'only-hyper'].includes(m)));
    writeFileSync(join(whole, 'run.json'), JSON.stringify({ ...key, rates: { ...key.rates, [Object.keys(key.rates)[0]]: 0.5 } }, null, 2));
    expect(await run(tiny(whole))).toBe(2);
    expect(String(err.mock.calls[1][0])).toMatch(/holds an evaluation made with other settings/);
    writeFileSync(join(whole, 'run.json'), `${JSON.stringify(key, null, 2)}\n`);
  });

  const O = ['--out', join(tmpdir(), 'hb-eval-never-written')];
  it.each([
    [['--ids', '2', '--seed', '1', ...O], /missing --pack/],
    [['--pack', TINY, '--ids', '2', '--seed', '1'], /missing --out/],
    [['--pack', TINY, '--ids', '2', ...O], /missing --seed/],
    [['--pack', TINY, '--ids', '0', '--seed', '1', ...O], /--ids must be an integer in 1/],
    [['--pack', TINY, '--ids', 'two', '--seed', '1', ...O], /--ids expects a non-negative integer/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--seeds', '0', ...O], /--seeds must be an integer in 1/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--styles', 'cubism', ...O], /unknown style 'cubism'/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--methods', 'dreambooth-4000', ...O], /unknown method 'dreambooth-4000'/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--max-steps', 'many', ...O], /--max-steps expects/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--shard', '2/2', ...O], /--shard must be i\/n/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--lr', '5', ...O], /--lr must be in/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--scheduler', 'pndm', ...O], /--scheduler must be one of/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--frobnicate', '3', ...O], /unknown flag --frobnicate/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--threads', '0', ...O], /--threads must be a positive integer/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--scorers', '/nonexistent/s.json', ...O], /cannot read the scorers/],
    [['--pack', TINY, '--ids', '2', '--seed', '1', '--embedder', '/nonexistent/e.onnx', ...O], /cannot read the identity embedder/],
    [['merge'], /needs the run folders/],
    [['merge', '/nonexistent/run'], /is not an evaluation run/],
    [['rescore', '/nonexistent/run'], /needs <run dir> and --out/],
    [['rescore', '/nonexistent/run', '--out', join(tmpdir(), 'hb-never')], /is not an evaluation run/],
    [['rescore', join(tmpdir(), 'hb-never-2'), '--out', join(tmpdir(), 'hb-never-3'), '--ids', 'x'], /--ids expects a non-negative integer/],
    [['table'], /needs --json/],
  ])('refuses %j with a clear message', async (argv, message) => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await run(argv as string[])).toBe(2);
    expect(String(err.mock.calls[0][0])).toMatch(message);
  });
});
