// The evaluation table as Markdown, rendered from the eval JSON by one function: the README's
// table is this function's output for the committed JSON (a unit test compares them).
import type { EvalResult, Interval, ScoresWithCI } from './results';

export const TABLE_START = '<!-- eval-table:start (rendered by src/eval/table.ts from src/eval/table1.json; do not edit by hand) -->';
export const TABLE_END = '<!-- eval-table:end -->';

const f3 = (v: number) => v.toFixed(3);
const withCI = (v: number, ci: Interval) => `${f3(v)} [${f3(ci[0])}, ${f3(ci[1])}]`;

function row(name: string, s: ScoresWithCI, seconds: string): string {
  return `| ${name} | ${withCI(s.identity, s.identityCI)} | ${withCI(s.style, s.styleCI)} | ${withCI(s.similarity, s.similarityCI)} | ${seconds} |`;
}

/** Every pair of methods: "a > b" when a's interval lies above b's, "a ≈ b" when they overlap. */
export function orderings(result: EvalResult, metric: 'identity' | 'style'): { apart: string[]; overlapping: string[] } {
  const names = Object.keys(result.methods);
  const apart: string[] = [], overlapping: string[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = result.methods[names[i]], b = result.methods[names[j]];
      const ca = a[`${metric}CI`], cb = b[`${metric}CI`];
      if (ca[0] > cb[1]) apart.push(`${names[i]} > ${names[j]}`);
      else if (cb[0] > ca[1]) apart.push(`${names[j]} > ${names[i]}`);
      else overlapping.push(`${names[i]} ≈ ${names[j]}`);
    }
  }
  return { apart, overlapping };
}

export function renderTable(result: EvalResult): string {
  const p = result.protocol;
  const lines = [
    `Held-out identities 0–${p.ids - 1} of world ${p.seed} × ${p.styles.length} styles × ${p.seeds} seeds, ${p.stepsImage} ${p.scheduler} steps at guidance ${p.guidance}; ` +
      `fine-tune ${p.ftSteps} steps (lidb-400: ${p.lidbSteps}) at lr ${p.learningRate}, rank ${p.rank}. Means with 95% bootstrap intervals over identities.`,
    '',
    '| method | identity | style | similarity | seconds/id |',
    '|---|---|---|---|---|',
    ...Object.entries(result.methods).map(([name, s]) => row(name, s, s.seconds.toFixed(2))),
    row('(renders)', result.renders, '–'),
    '',
  ];
  for (const metric of ['identity', 'style'] as const) {
    const o = orderings(result, metric);
    lines.push(`${metric[0].toUpperCase()}${metric.slice(1)}: intervals apart: ${o.apart.length ? o.apart.join(', ') : 'none'}; overlapping: ${o.overlapping.length ? o.overlapping.join(', ') : 'none'}.`, '');
  }
  return lines.join('\n').trimEnd();
}

/** `readme` with the text between the table markers replaced by `table`; throws when the markers are missing. */
export function replaceTable(readme: string, table: string): string {
  const a = readme.indexOf(TABLE_START), b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error(`the README has no eval table markers (${TABLE_START} … ${TABLE_END})`);
  return `${readme.slice(0, a + TABLE_START.length)}\n${table}\n${readme.slice(b)}`;
}

/** The table currently between the README's markers. */
export function tableInReadme(readme: string): string {
  const a = readme.indexOf(TABLE_START), b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error('the README has no eval table markers');
  return readme.slice(a + TABLE_START.length, b).trim();
}
