// `eval traits` on the committed tiny pack: each held-out person generated from their own caption,
// compared by the identity embedder with their photo and the other people's; the sheet holds a
// row per person. Few steps: this checks the bookkeeping, the numbers are the command's to measure.
import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { run } from '../../../tools/commands/eval';
import { caption, identitySeed, sampleIdentity } from '../../../src/dataset';

const TINY = resolve(__dirname, '../../../public/models/tiny');

describe('eval traits', () => {
  it('scores caption-conditioned images against their own person and the others, and writes a row per person', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-traits-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const code = await run(['traits', '--pack', TINY, '--seed', '5', '--people', '3', '--seeds', '1', '--styles', 'photo,pop-art', '--steps', '2',
      '--sheet', join(dir, 'sheet.png'), '--json', join(dir, 'traits.json'), '--threads', '1']);
    const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
    log.mockRestore();
    expect(code).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'traits.json'), 'utf8'));
    expect(r.people.map((p: { identity: number }) => p.identity)).toEqual([0, 1, 2]);
    expect(r.people[1].caption).toBe(caption(sampleIdentity(identitySeed('heldout', 1, 5)), 'photo'));
    const mean = (k: 'own' | 'others') => r.people.reduce((a: number, p: Record<string, number>) => a + p[k], 0) / 3;
    expect(r.own).toBeCloseTo(mean('own'), 12);
    expect(r.others).toBeCloseTo(mean('others'), 12);
    expect(r.gap).toBeCloseTo(r.own - r.others, 12);
    expect(r.closerToOwn).toBe(r.people.filter((p: Record<string, number>) => p.own > p.others).length);
    for (const p of r.people) for (const k of ['own', 'others']) expect(Math.abs(p[k])).toBeLessThanOrEqual(1);
    expect(printed).toMatch(/traits: 3 held-out people of world 5, 1 seeds × 2 styles/);
    // a row per person: photo + 2 images, 64 px each with 2 px gaps
    const sheet = decodeImageBytes(new Uint8Array(readFileSync(join(dir, 'sheet.png')))).image;
    expect([sheet.width, sheet.height]).toEqual([3 * 64 + 2 * 2, 3 * 64 + 2 * 2]);
  });

  it.each([
    [['traits', '--pack', TINY], /missing --sheet/],
    [['traits', '--pack', TINY, '--sheet', '/tmp/x.png', '--people', '1'], /--people must be ≥ 2/],
    [['traits', '--pack', TINY, '--sheet', '/tmp/x.png', '--styles', 'cubism'], /unknown style 'cubism'/],
    [['traits', '--pack', TINY, '--sheet', '/tmp/x.png', '--frobnicate', '1'], /unknown flag --frobnicate/],
  ])('refuses %j with a clear message', async (argv, message) => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await run(argv)).toBe(2);
    expect(String(err.mock.calls[0][0])).toMatch(message);
    err.mockRestore();
  });
});
