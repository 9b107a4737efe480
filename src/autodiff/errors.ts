// The errors a caller can act on: which op is missing a gradient or a shape function (and
// where), and which names were not found (with the closest ones, since ONNX names are long and easy to mistype).

export class UnsupportedOpError extends Error {
  constructor(
    readonly opType: string,
    readonly nodeName: string,
    /** the node's input on the active path, whose gradient would need this op's rule */
    readonly input: string,
    detail?: string,
  ) {
    super(`no gradient for op ${opType} (node '${nodeName}'), needed for its input '${input}'${detail ? `: ${detail}` : ''}`);
    this.name = 'UnsupportedOpError';
  }
}

/** An op with no shape function: thrown by inference, and by the rank of a value it left unknown. */
export class NoShapeFunctionError extends Error {
  constructor(
    readonly opType: string,
    readonly nodeName: string,
    /** the value whose shape was needed, when a rule asked for it */
    readonly value?: string,
  ) {
    super(`${value ? `cannot infer the shape of '${value}': ` : ''}op ${opType} (node '${nodeName}') has no shape function `
      + '(add one beside its rule in src/autodiff/rules, or give the model value_info for its outputs)');
    this.name = 'NoShapeFunctionError';
  }
}

export class UnknownNameError extends Error {
  constructor(readonly kind: string, readonly unknown: string, readonly suggestions: string[]) {
    super(`unknown ${kind} '${unknown}'${suggestions.length ? `; closest: ${suggestions.map((s) => `'${s}'`).join(', ')}` : ''}`);
    this.name = 'UnknownNameError';
  }
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The `n` candidates closest to `name` (substring matches first, then by edit distance). */
export function closestNames(name: string, candidates: Iterable<string>, n = 5): string[] {
  const lower = name.toLowerCase();
  return [...new Set(candidates)]
    .map((c) => ({ c, d: c.toLowerCase().includes(lower) || lower.includes(c.toLowerCase()) ? -1 : editDistance(lower, c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, n)
    .map((x) => x.c);
}
