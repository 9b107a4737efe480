// The README's evaluation table is rendered from the committed JSON by src/eval/table.ts.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_EVAL } from '../../../src/eval/evaluate';
import type { EvalResult, MethodSummary } from '../../../src/eval/results';
import { orderings, renderTable, replaceTable, TABLE_END, TABLE_START, tableInReadme } from '../../../src/eval/table';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const TABLE_JSON = fileURLToPath(new URL('../../../src/eval/table1.json', import.meta.url));

const summary = (identity: number, ci: [number, number]): MethodSummary => ({
  identity, identityCI: ci, style: 0.5, styleCI: [0.4, 0.6], similarity: 0, similarityCI: [0, 0], seconds: 1,
});
const result = (methods: Record<string, MethodSummary>): EvalResult => ({
  methods, renders: summary(0.9, [0.85, 0.95]), ids: 3, seed: 9, protocol: { ...DEFAULT_EVAL, ids: 3, seed: 9, methods: Object.keys(methods) },
});

describe('the README table', () => {
  it('is the committed evaluation JSON, rendered', () => {
    const json = JSON.parse(readFileSync(TABLE_JSON, 'utf8')) as EvalResult;
    expect(tableInReadme(readFileSync(README, 'utf8'))).toBe(renderTable(json));
  });
});

describe('renderTable', () => {
  const r = result({ a: summary(0.5, [0.4, 0.6]), b: summary(0.2, [0.1, 0.3]), c: summary(0.35, [0.25, 0.45]) });

  it('has one row per method with its intervals, then the renders', () => {
    const t = renderTable(r);
    expect(t).toContain('| a | 0.500 [0.400, 0.600] | 0.500 [0.400, 0.600] | 0.000 [0.000, 0.000] | 1.00 |');
    expect(t).toContain('| (renders) | 0.900 [0.850, 0.950] |');
    expect(t).toContain('Held-out identities 0–2 of world 9 × 8 styles × 2 seeds, 25 ddim steps');
  });

  it('says which orderings have intervals apart and which overlap', () => {
    expect(orderings(r, 'identity')).toEqual({ apart: ['a > b'], overlapping: ['a ≈ c', 'b ≈ c'] });
    expect(renderTable(r)).toContain('Identity: intervals apart: a > b; overlapping: a ≈ c, b ≈ c.');
    expect(orderings(r, 'style').apart).toEqual([]);
  });

  it('replaces only the text between the markers', () => {
    const doc = `intro\n${TABLE_START}\nold\n${TABLE_END}\noutro\n`;
    const next = replaceTable(doc, 'new table');
    expect(next).toBe(`intro\n${TABLE_START}\nnew table\n${TABLE_END}\noutro\n`);
    expect(tableInReadme(next)).toBe('new table');
    expect(() => replaceTable('no markers', 'x')).toThrow(/no eval table markers/);
  });
});
