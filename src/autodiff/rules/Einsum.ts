import type { GradContext, GradRule, ShapeFunc } from '../types';
import type { Dim } from '../dims';

/** Each letter's size from the first input that has it other than 1; the output lists its letters. */
const inferShape: ShapeFunc = (ctx) => {
  const eq = ctx.attr<string>('equation', '');
  const shapes = ctx.in.map((_, i) => ctx.inputShape(i));
  const [lhs, rhsGiven] = eq.replace(/\s/g, '').split('->');
  const terms = lhs.split(',');
  if (shapes.some((s) => !s)) return ctx.oneOutput(ctx.inputDtype(0), null);
  const sizes = new Map<string, Dim>();
  let ellipsis: Dim[] = [];
  terms.forEach((term, i) => {
    const s = shapes[i]!;
    const parts = term.split('...');
    const before = parts[0];
    const after = parts.length > 1 ? parts[1] : '';
    const nEll = s.length - before.length - after.length;
    if (parts.length > 1 && nEll > ellipsis.length) ellipsis = s.slice(before.length, before.length + nEll);
    [...before].forEach((c, j) => { if (!sizes.has(c) || sizes.get(c) === 1) sizes.set(c, s[j]); });
    [...after].forEach((c, j) => { if (!sizes.has(c) || sizes.get(c) === 1) sizes.set(c, s[s.length - after.length + j]); });
  });
  let rhs = rhsGiven;
  if (rhs === undefined) {
    // implicit output: the letters used once, alphabetically, after any ellipsis
    const counts = new Map<string, number>();
    for (const c of lhs.replace(/[,.]/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    rhs = (lhs.includes('...') ? '...' : '') + [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join('');
  }
  const out: Dim[] = [];
  const parts = rhs.split('...');
  for (const c of parts[0]) out.push(sizes.get(c) ?? null);
  if (parts.length > 1) { out.push(...ellipsis); for (const c of parts[1]) out.push(sizes.get(c) ?? null); }
  return ctx.oneOutput(ctx.inputDtype(0), out);
};

/** Equation terms with every '...' spelled out as fresh letters (ranks are static). */
function explicitTerms(ctx: GradContext): { inputs: string[]; output: string } {
  const eq = ctx.attr<string>('equation', '').replace(/\s/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  const used = new Set(eq.replace(/[^a-zA-Z]/g, ''));
  const free = [...'ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba'].filter((c) => !used.has(c));
  let ellRank = 0;
  terms.forEach((t, i) => {
    if (t.includes('...')) ellRank = Math.max(ellRank, ctx.rank(ctx.in[i]) - (t.length - 3));
  });
  const ell = free.slice(0, ellRank).reverse().join('');
  const expand = (t: string, rank: number) => (t.includes('...') ? t.replace('...', ell.slice(ell.length - (rank - (t.length - 3)))) : t);
  const inputs = terms.map((t, i) => expand(t, ctx.rank(ctx.in[i])));
  let output: string;
  if (rhs !== undefined) output = rhs.replace('...', ell);
  else {
    const count = new Map<string, number>();
    for (const c of inputs.join('')) count.set(c, (count.get(c) ?? 0) + 1);
    output = ell + [...count].filter(([c, n]) => n === 1 && !ell.includes(c)).map(([c]) => c).sort().join('');
  }
  return { inputs, output };
}

// The gradient of operand i is itself an einsum of dy with the other operands, producing the
// letters of operand i that appear elsewhere; letters summed in operand i alone are broadcast back.
export const Einsum: GradRule = {
  opType: 'Einsum',
  inferShape: inferShape,
  gradFunc: (ctx) => {
    const { e } = ctx;
    const { inputs, output } = explicitTerms(ctx);
    if (inputs.length > 2) ctx.fail('only one- and two-operand equations are supported');
    inputs.forEach((t) => { if (new Set(t).size !== t.length) ctx.fail(`repeated index in '${t}' (diagonals) is not supported`); });
    return inputs.map((term, i) => () => {
      const others = inputs.filter((_, j) => j !== i);
      const elsewhere = new Set([...output, ...others.join('')]);
      const kept = [...term].filter((c) => elsewhere.has(c)).join('');
      const eq = `${[output, ...others].join(',')}->${kept}`;
      let g = e.op1('Einsum', [ctx.dy()!, ...others.map((_, j) => ctx.x(j < i ? j : j + 1))], { equation: eq });
      if (kept.length < term.length) {
        const missing = [...term].map((c, k) => (elsewhere.has(c) ? -1 : k)).filter((k) => k >= 0);
        g = e.op1('Expand', [e.unsqueeze(g, missing), e.shapeOf(ctx.in[i])]);
      }
      return g;
    });
  },
};
