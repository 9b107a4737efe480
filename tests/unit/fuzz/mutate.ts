// The fuzz suite's one mutator library: deterministic (every choice comes from a seeded
// LidbRng, so a failing case is reproduced by its seed and index) and format-blind at this
// level — byte mutations for any file, value mutations for any JSON document.
import { LidbRng } from '../../../src/lidb';

export class FuzzRng {
  private readonly rng: LidbRng;
  constructor(seed: number, stream = 'fuzz') {
    this.rng = new LidbRng(seed, stream);
  }
  /** in [0, 1) */
  uniform(): number {
    return this.rng.uniform();
  }
  /** an integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.uniform() * xs.length)];
  }
  chance(p: number): boolean {
    return this.uniform() < p;
  }
}

export type Mutator<T> = (seed: T, rng: FuzzRng) => T;

/** Numbers that sit on the edges parsers get wrong, as 32- and 64-bit patterns. */
const EDGE_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const EDGE_U64 = [0n, 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

/** Byte-level mutations for any file. */
export const byteMutators: Record<string, Mutator<Uint8Array>> = {
  flipBits: (s, rng) => {
    const out = s.slice();
    for (let n = rng.int(1, 8); n > 0; n--) out[rng.int(0, out.length - 1)] ^= 1 << rng.int(0, 7);
    return out;
  },
  randomBytes: (s, rng) => {
    const out = s.slice();
    // half land in the first 256 bytes, where the headers are
    for (let n = rng.int(1, 8); n > 0; n--) out[rng.chance(0.5) ? rng.int(0, Math.min(255, out.length - 1)) : rng.int(0, out.length - 1)] = rng.int(0, 255);
    return out;
  },
  edgeU32: (s, rng) => {
    const out = s.slice();
    if (out.length < 4) return out;
    new DataView(out.buffer).setUint32(rng.int(0, Math.min(out.length - 4, rng.chance(0.7) ? 252 : out.length - 4)), rng.pick(EDGE_U32), rng.chance(0.5));
    return out;
  },
  edgeU64: (s, rng) => {
    const out = s.slice();
    if (out.length < 8) return out;
    new DataView(out.buffer).setBigUint64(rng.int(0, Math.min(out.length - 8, rng.chance(0.7) ? 248 : out.length - 8)), rng.pick(EDGE_U64), rng.chance(0.5));
    return out;
  },
  truncate: (s, rng) => s.slice(0, rng.int(0, s.length - 1)),
  extend: (s, rng) => {
    const out = new Uint8Array(s.length + rng.int(1, 64));
    out.set(s);
    for (let i = s.length; i < out.length; i++) out[i] = rng.int(0, 255);
    return out;
  },
  deleteRange: (s, rng) => {
    const a = rng.int(0, s.length - 1);
    const b = Math.min(s.length, a + rng.int(1, 32));
    return new Uint8Array([...s.subarray(0, a), ...s.subarray(b)]);
  },
  duplicateRange: (s, rng) => {
    const a = rng.int(0, s.length - 1);
    const b = Math.min(s.length, a + rng.int(1, 64));
    return new Uint8Array([...s.subarray(0, b), ...s.subarray(a, b), ...s.subarray(b)]);
  },
};

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const EDGE_VALUES: Json[] = [
  null, true, false, 0, -1, -5, 0.5, 1e9, 1e12, 2 ** 31, 2 ** 45, 2 ** 53 + 2, 1e308, -1e308, '', 'x', '../../x', '\\\\evil.example\\x',
  'http:evil.example/x', '%2e%2e/%2e%2e/x', '(a+)+$', 'a'.repeat(5000), [], [null], {}, { a: null },
];

/** Every [container, key] in a JSON document, so a mutation can land anywhere in it. */
function slots(doc: Json, out: [Json[] | { [k: string]: Json }, string | number][] = []): [Json[] | { [k: string]: Json }, string | number][] {
  if (Array.isArray(doc)) doc.forEach((v, i) => { out.push([doc, i]); slots(v, out); });
  else if (doc && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) { out.push([doc, k]); slots(v, out); }
  return out;
}

/** Value-level mutations for any JSON document (the seed is cloned, never changed). */
export const jsonMutators: Record<string, Mutator<Json>> = {
  replaceValue: (s, rng) => {
    const doc = structuredClone(s);
    const [c, k] = rng.pick(slots(doc));
    (c as Record<string | number, Json>)[k] = rng.pick(EDGE_VALUES);
    return doc;
  },
  deleteKey: (s, rng) => {
    const doc = structuredClone(s);
    const objects = slots(doc).filter(([c]) => !Array.isArray(c));
    if (objects.length === 0) return doc;
    const [c, k] = rng.pick(objects);
    delete (c as Record<string, Json>)[k as string];
    return doc;
  },
  duplicateEntry: (s, rng) => {
    const doc = structuredClone(s);
    const arrays = slots(doc).filter(([c]) => Array.isArray(c));
    if (arrays.length === 0) return doc;
    const [c, k] = rng.pick(arrays);
    (c as Json[]).push(structuredClone((c as Json[])[k as number]));
    return doc;
  },
  nudgeNumber: (s, rng) => {
    const doc = structuredClone(s);
    const numbers = slots(doc).filter(([c, k]) => typeof (c as Record<string | number, Json>)[k] === 'number');
    if (numbers.length === 0) return doc;
    const [c, k] = rng.pick(numbers);
    const v = (c as Record<string | number, number>)[k];
    (c as Record<string | number, number>)[k] = rng.pick([v + 1, v - 1, -v, v * 1e6, v / 3, 0]);
    return doc;
  },
  swapType: (s, rng) => {
    const doc = structuredClone(s);
    const [c, k] = rng.pick(slots(doc));
    const v = (c as Record<string | number, Json>)[k];
    (c as Record<string | number, Json>)[k] = typeof v === 'string' ? Number(v.length) : typeof v === 'number' ? String(v) : Array.isArray(v) ? { ...v } : v && typeof v === 'object' ? Object.values(v) : [v];
    return doc;
  },
};

/** JSON mutations of `doc`, handed to the reader as text (the byte seed is not used). */
export function jsonTextMutators(doc: Json): Record<string, Mutator<Uint8Array>> {
  const out: Record<string, Mutator<Uint8Array>> = {};
  for (const [name, m] of Object.entries(jsonMutators)) out[`json.${name}`] = (_, rng) => new TextEncoder().encode(JSON.stringify(m(doc, rng)));
  return out;
}
