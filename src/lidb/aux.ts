// The frozen aux bases of a pack: per layer D_aux [nIn, a] with orthonormal columns and U_aux
// [b, nOut] with orthonormal rows. They are random (seeded by the pack seed and the layer name)
// and shipped with the pack as `<path>.d_aux` / `<path>.u_aux` in a safetensors file, so every
// LiDB made for the pack refers to the same bases (the LiDB file records the file's sha256).
import type { LoraTarget } from '../packs/manifest';
import { readSafetensors, writeSafetensors } from '../safetensors';
import { encodeFloats, toFloat32 } from '../safetensors/decode';
import { parseStrictJson } from '../safetensors/json';
import { LidbFileError, rethrowSafetensors } from './errors';
import { outOfRangeMessage } from './finite';
import { auxDims, type LidbLayerSpec } from './layers';
import { LidbRng } from './random';

export const AUX_FORMAT = 'hyperbooth-lidb-aux/1';

export interface AuxBasis {
  name: string;
  target: LoraTarget;
  nIn: number;
  nOut: number;
  a: number;
  b: number;
  /** [nIn, a] row-major, orthonormal columns */
  dAux: Float32Array;
  /** [b, nOut] row-major, orthonormal rows */
  uAux: Float32Array;
}

export interface AuxBases {
  seed: number;
  /** in the pack's layer order */
  bases: Map<string, AuxBasis>;
}

/**
 * `count` orthonormal vectors of `length` from Gaussian-like draws by modified Gram–Schmidt in
 * float64. One pass is enough: MGS loses orthogonality in proportion to eps·κ(A) (Björck); a
 * tall random Gaussian matrix has κ ≈ (√n+√k)/(√n−√k) (< 3 for SD1.5's shapes) and even a square
 * one (narrow tiny-pack layers, a = nIn) only κ = O(n). Measured: |QᵀQ − I| ≤ 4e-15 for 100×1280,
 * ≤ 2e-13 for 100×100, far below the float32 rounding that follows. Each projection's update is
 * fused with the next dot product, one sweep per basis vector. Only correctly rounded
 * operations (+ − × ÷ √) are used, so the result is bit-identical on every engine.
 */
export function randomOrthonormal(count: number, length: number, rng: LidbRng): Float64Array[] {
  if (count > length) throw new RangeError(`cannot make ${count} orthonormal vectors of length ${length}`);
  const vs: Float64Array[] = [];
  for (let j = 0; j < count; j++) {
    const v = new Float64Array(length);
    for (let i = 0; i < length; i++) v[i] = rng.normal();
    const norm0 = Math.sqrt(dot(v, v));
    let c = vs.length ? dot(vs[0], v) : 0;
    for (let k = 0; k < vs.length; k++) {
      const q = vs[k];
      const next = vs[k + 1];
      let d = 0;
      if (next) {
        for (let i = 0; i < length; i++) {
          const vi = v[i] - c * q[i];
          v[i] = vi;
          d += next[i] * vi;
        }
      } else {
        for (let i = 0; i < length; i++) v[i] -= c * q[i];
      }
      c = d;
    }
    const norm = Math.sqrt(dot(v, v));
    // Cannot happen for independent continuous draws; guards a degenerate generator.
    if (!(norm > 1e-8 * norm0)) throw new Error('random vectors are linearly dependent');
    for (let i = 0; i < length; i++) v[i] /= norm;
    vs.push(v);
  }
  return vs;
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

export function makeAuxBasis(layer: LidbLayerSpec, seed: number): AuxBasis {
  const { a, b } = auxDims(layer);
  const dCols = randomOrthonormal(a, layer.nIn, new LidbRng(seed, `${layer.name}.d_aux`));
  const dAux = new Float32Array(layer.nIn * a);
  for (let j = 0; j < a; j++) for (let i = 0; i < layer.nIn; i++) dAux[i * a + j] = dCols[j][i];
  const uRows = randomOrthonormal(b, layer.nOut, new LidbRng(seed, `${layer.name}.u_aux`));
  const uAux = new Float32Array(b * layer.nOut);
  for (let j = 0; j < b; j++) uAux.set(uRows[j], j * layer.nOut);
  return { name: layer.name, target: layer.target, nIn: layer.nIn, nOut: layer.nOut, a, b, dAux, uAux };
}

export function makeAuxBases(layers: readonly LidbLayerSpec[], seed: number): AuxBases {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed ${seed} must be a non-negative integer`);
  const bases = new Map<string, AuxBasis>();
  for (const layer of layers) {
    if (bases.has(layer.name)) throw new Error(`layer ${layer.name} listed twice`);
    bases.set(layer.name, makeAuxBasis(layer, seed));
  }
  return { seed, bases };
}

/**
 * makeAuxBases, giving the event loop a turn (`pause`) after each basis: started while a pack's
 * weights stream, it runs while the writer waits for the disk or the file (~2 s of Gram–Schmidt
 * for SD1.5 that would otherwise run after the weights). Same bases, bit for bit.
 */
export async function makeAuxBasesInSlices(layers: readonly LidbLayerSpec[], seed: number, pause: () => Promise<void>, signal?: AbortSignal): Promise<AuxBases> {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed ${seed} must be a non-negative integer`);
  const bases = new Map<string, AuxBasis>();
  for (const layer of layers) {
    if (bases.has(layer.name)) throw new Error(`layer ${layer.name} listed twice`);
    await pause();
    signal?.throwIfAborted();
    bases.set(layer.name, makeAuxBasis(layer, seed));
  }
  return { seed, bases };
}

interface AuxLayerRecord { name: string; target: LoraTarget; nIn: number; nOut: number; a: number; b: number }

/**
 * The aux file. F32 by default; F16 halves a large pack's download (SD1.5: 82 → 41 MB) — the
 * bases are then the rounded values the file holds (orthonormal to ~1e-3), which is what every
 * user of the pack reads back, so LiDBs stay consistent.
 */
export function writeAuxFile(aux: AuxBases, opts: { dtype?: 'F32' | 'F16' } = {}): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const records: AuxLayerRecord[] = [];
  const tensors = [];
  for (const x of aux.bases.values()) {
    records.push({ name: x.name, target: x.target, nIn: x.nIn, nOut: x.nOut, a: x.a, b: x.b });
    tensors.push({ name: `${x.name}.d_aux`, dtype, shape: [x.nIn, x.a], bytes: encodeFloats(x.dAux, dtype) });
    tensors.push({ name: `${x.name}.u_aux`, dtype, shape: [x.b, x.nOut], bytes: encodeFloats(x.uAux, dtype) });
  }
  return writeSafetensors(tensors, { format: AUX_FORMAT, seed: String(aux.seed), layers: JSON.stringify(records) });
}

/**
 * Reads a pack's aux file; with `expected` (the manifest's layers) it also checks that the file
 * covers exactly those layers with the same sizes.
 */
/**
 * Orthonormal columns have no entry above 1 (F16 rounding adds ~1e-3); the bound is what lets
 * readLidbFile's LIDB_MAX_ABS guarantee finite slots.
 */
export const AUX_MAX_ABS = 2;

export function readAuxFile(bytes: Uint8Array, expected?: readonly LidbLayerSpec[]): AuxBases {
  const fail = (code: ConstructorParameters<typeof LidbFileError>[0], msg: string): never => {
    throw new LidbFileError(code, `aux file: ${msg}`);
  };
  const file = rethrowSafetensors('aux file', (c, m, cause) => new LidbFileError(c, m, { cause }), () => readSafetensors(bytes));
  const md = file.metadata;
  if (md.format !== AUX_FORMAT) fail('wrong-format', `format is ${JSON.stringify(md.format)}, expected ${AUX_FORMAT}`);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(md.seed ?? '') || !Number.isSafeInteger(Number(md.seed))) fail('bad-metadata', `seed ${JSON.stringify(md.seed)} is not an integer`);
  let records: AuxLayerRecord[] = [];
  try {
    const parsed = parseStrictJson(md.layers ?? '');
    if (!Array.isArray(parsed)) throw new Error('not a list');
    records = parsed.map((r) => {
      const o = r as unknown as AuxLayerRecord;
      const ints = [o.nIn, o.nOut, o.a, o.b];
      if (typeof o?.name !== 'string' || (o.target !== 'unet' && o.target !== 'text_encoder') || !ints.every((n) => Number.isSafeInteger(n) && n > 0)) {
        throw new Error(`bad record ${JSON.stringify(r)}`);
      }
      return o;
    });
  } catch (e) {
    fail('bad-metadata', `"layers" is not a list of layer records (${(e as Error).message})`);
  }
  const bases = new Map<string, AuxBasis>();
  for (const r of records) {
    if (bases.has(r.name)) fail('bad-metadata', `layer ${r.name} listed twice`);
    const get = (suffix: string, rows: number, cols: number): Float32Array => {
      const t = file.tensors.get(`${r.name}.${suffix}`);
      if (!t) return fail('missing-layer', `no tensor ${r.name}.${suffix}`);
      if (t.shape.length !== 2 || t.shape[0] !== rows || t.shape[1] !== cols) fail('bad-shape', `${r.name}.${suffix} is ${JSON.stringify(t.shape)}, expected [${rows}, ${cols}]`);
      if (t.dtype !== 'F32' && t.dtype !== 'F16') fail('bad-dtype', `${r.name}.${suffix} is ${t.dtype}, expected F32 or F16`);
      const v = toFloat32(t);
      const bad = outOfRangeMessage(`${r.name}.${suffix}`, v, AUX_MAX_ABS, 'the bases are orthonormal, so no entry exceeds 1');
      if (bad) fail('non-finite', bad);
      return v;
    };
    bases.set(r.name, { ...r, dAux: get('d_aux', r.nIn, r.a), uAux: get('u_aux', r.b, r.nOut) });
  }
  if (file.tensors.size !== 2 * records.length) {
    const extra = [...file.tensors.keys()].filter((k) => !bases.has(k.replace(/\.(d_aux|u_aux)$/, '')));
    fail('extra-layer', `tensors not listed in "layers": ${extra.slice(0, 5).join(', ')}`);
  }
  if (expected) checkAuxMatches({ seed: Number(md.seed), bases }, expected);
  return { seed: Number(md.seed), bases };
}

/** Throws a LidbFileError unless `aux` has exactly `layers`, in size. */
export function checkAuxMatches(aux: AuxBases, layers: readonly LidbLayerSpec[]): void {
  for (const l of layers) {
    const x = aux.bases.get(l.name);
    if (!x) throw new LidbFileError('missing-layer', `aux bases have no layer ${l.name}`);
    const { a, b } = auxDims(l);
    if (x.nIn !== l.nIn || x.nOut !== l.nOut || x.a !== a || x.b !== b || x.target !== l.target) {
      throw new LidbFileError('bad-shape', `aux layer ${l.name} is ${x.target} ${x.nIn}→${x.nOut} (a=${x.a}, b=${x.b}), the pack says ${l.target} ${l.nIn}→${l.nOut} (a=${a}, b=${b})`);
    }
  }
  if (aux.bases.size !== layers.length) {
    const known = new Set(layers.map((l) => l.name));
    const extra = [...aux.bases.keys()].filter((n) => !known.has(n));
    throw new LidbFileError('extra-layer', `aux bases have layers the pack does not: ${extra.slice(0, 5).join(', ')}`);
  }
}
