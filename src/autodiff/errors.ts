// The errors a caller can act on: which op is missing a gradient (and where), and which
// names were not found (with the closest ones, since ONNX names are long and easy to mistype).

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
