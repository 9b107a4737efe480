import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The renderer must give the same bytes in every JS engine. ECMAScript specifies + − × ÷,
// Math.sqrt, floor, min, max, abs, round, imul exactly, but leaves sin/cos/exp/log/pow (and `**`)
// "implementation-approximated"; src/diffusion/random.ts has portable sin/cos for the angles.
const DIR = join(__dirname, '../../../src/dataset');
const FORBIDDEN = /Math\.(sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|exp|expm1|log|log1p|log2|log10|pow|hypot|cbrt|random|fround)\b|\*\*/;

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('src/dataset portability', () => {
  it('uses no approximated Math functions, `**` or Math.random', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(8);
    for (const f of files) {
      const code = stripComments(readFileSync(join(DIR, f), 'utf8'));
      const hit = FORBIDDEN.exec(code);
      expect(hit?.[0], `${f}`).toBeUndefined();
    }
  });

  it('imports nothing Node-only outside shardNode.ts, so it runs in a browser worker', () => {
    for (const f of readdirSync(DIR).filter((f) => f.endsWith('.ts') && f !== 'shardNode.ts')) {
      const code = readFileSync(join(DIR, f), 'utf8');
      expect(/from ['"]node:/.test(code), f).toBe(false);
      expect(/from ['"]\.\/shardNode['"]/.test(code), f).toBe(false);
    }
  });
});
