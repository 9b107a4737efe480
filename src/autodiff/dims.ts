// Symbolic dimensions. A dim is a number, a symbol (string), or null (unknown). A symbol is a
// product of atoms ("2*batch*height") or an opaque atom for a function of other dims; two equal
// strings always denote equal values, so equality of strings is a sound proof of equal sizes.
export type Dim = number | string | null;

interface Factors { coef: number; atoms: string[] }

function factors(d: number | string): Factors {
  if (typeof d === 'number') return { coef: d, atoms: [] };
  let coef = 1;
  const atoms: string[] = [];
  for (const part of d.split('*')) {
    if (/^-?\d+$/.test(part)) coef *= Number(part);
    else atoms.push(part);
  }
  return { coef, atoms: atoms.sort() };
}

function fromFactors(f: Factors): Dim {
  if (f.atoms.length === 0) return f.coef;
  if (f.coef === 0) return 0;
  return [...(f.coef === 1 ? [] : [String(f.coef)]), ...f.atoms].join('*');
}

export function mulDim(a: Dim, b: Dim): Dim {
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  const fa = factors(a), fb = factors(b);
  return fromFactors({ coef: fa.coef * fb.coef, atoms: [...fa.atoms, ...fb.atoms].sort() });
}

/** Exact division, or null when it cannot be proven exact. */
export function divDim(a: Dim, b: Dim): Dim {
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : null;
  const fa = factors(a), fb = factors(b);
  if (fb.coef === 0 || fa.coef % fb.coef !== 0) return null;
  const atoms = [...fa.atoms];
  for (const x of fb.atoms) {
    const i = atoms.indexOf(x);
    if (i < 0) return null;
    atoms.splice(i, 1);
  }
  return fromFactors({ coef: fa.coef / fb.coef, atoms });
}

export function addDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === null || b === null) return null;
  if (b === 0) return a;
  if (a === 0) return b;
  return opaque('add', [a, b]);
}

export function prodDims(ds: Dim[]): Dim { return ds.reduce<Dim>((p, d) => mulDim(p, d), 1); }

/** A symbol standing for `fn(args)`: equal whenever the function and arguments are equal. */
export function opaque(fn: string, args: (Dim | number | string)[]): Dim {
  if (args.some((a) => a === null)) return null;
  return `${fn}(${args.map((a) => String(a).replace(/\*/g, '·')).join(',')})`;
}

export const isKnown = (d: Dim): d is number => typeof d === 'number';

/** True only when both dims are provably equal. */
export const sameDim = (a: Dim, b: Dim): boolean => a !== null && b !== null && a === b;

/** Multidirectional (numpy) broadcast of several shapes; unknown entries where it cannot be decided. */
export function broadcastShapes(shapes: Dim[][]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const ds = shapes.map((s) => (i - (rank - s.length) >= 0 ? s[i - (rank - s.length)] : 1));
    const notOne = ds.filter((d) => d !== 1);
    if (notOne.length === 0) { out.push(1); continue; }
    const nums = notOne.filter(isKnown);
    if (nums.length > 0) { out.push(nums[0]); continue; }
    const syms = notOne.filter((d) => d !== null);
    const unknown = notOne.some((d) => d === null);
    // a symbol might be 1 at run time, so only an all-equal set of symbols decides the size
    out.push(!unknown && syms.every((d) => d === syms[0]) ? syms[0] : null);
  }
  return out;
}
