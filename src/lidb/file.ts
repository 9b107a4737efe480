// `<name>.lidb.safetensors`: a person's LiDB. Per layer `<path>.down` = D_train [a, r] and
// `<path>.up` = U_train [r, b]; the metadata ties it to the pack (id and sha256 of the aux bases
// it was trained against) so loading it into another pack fails with a reason instead of
// silently producing noise.
import { readSafetensors, writeSafetensors, type RawTensor, type SafetensorsLimits } from '../safetensors';
import { encodeFloats, toFloat32 } from '../safetensors/decode';
import { isJsonObject, parseStrictJson, type JsonObject } from '../safetensors/json';
import { LidbFileError, rethrowSafetensors, type LidbFileErrorCode } from './errors';
import { outOfRangeMessage } from './finite';
import { auxDims, type LidbLayerSpec } from './layers';
import type { Lidb, LidbLayerWeights } from './lidb';

export const LIDB_FORMAT = 'hyperbooth-lidb/1';

/**
 * A slot is aux (|entry| ≤ AUX_MAX_ABS = 2) times D_train or U_train, summed over at most
 * 65536 terms (MANIFEST_LIMITS.layerWidth): with |value| ≤ 1e30 it stays below 1.4e35, inside
 * float32's 3.4e38, so a LiDB that reads is a LiDB whose slots are finite.
 */
export const LIDB_MAX_ABS = 1e30;

export interface LidbMeta {
  packId: string;
  /** sha256 (lowercase hex) of the pack's aux file */
  auxSha256: string;
  /** the word that stands for the person in prompts */
  trigger: string;
  /** how the fine-tune ran (steps, learning rate, rank, …), as JSON */
  fineTune: Record<string, unknown>;
  /** the fine-tune's seed */
  seed: number;
  /** a display name, when the person gave one */
  name?: string;
}

export interface LidbFileMeta extends LidbMeta {
  rank: number;
}

export interface LidbExpectation {
  packId: string;
  auxSha256: string;
  layers: readonly LidbLayerSpec[];
}

const fail = (code: LidbFileErrorCode, msg: string): never => {
  throw new LidbFileError(code, msg);
};

/**
 * a and b as the file records them: one number when every layer has the same (SD1.5: 100 and
 * 50), otherwise a JSON object from layer name to its value.
 */
function encodeDims(lidb: Lidb, key: 'a' | 'b'): string {
  const values = [...lidb.layers.values()].map((w) => w[key]);
  if (values.length > 0 && values.every((v) => v === values[0])) return String(values[0]);
  return JSON.stringify(Object.fromEntries([...lidb.layers].map(([n, w]) => [n, w[key]])));
}

export function writeLidbFile(lidb: Lidb, meta: LidbMeta, opts: { dtype?: 'F32' | 'F16' } = {}): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  if (!/^[0-9a-f]{64}$/.test(meta.auxSha256)) throw new RangeError(`auxSha256 ${JSON.stringify(meta.auxSha256)} is not a lowercase hex sha256`);
  if (!Number.isSafeInteger(meta.seed) || meta.seed < 0) throw new RangeError(`seed ${meta.seed} must be a non-negative integer`);
  const tensors = [];
  for (const [name, w] of lidb.layers) {
    checkWeights(name, w, lidb.rank);
    tensors.push({ name: `${name}.down`, dtype, shape: [w.a, lidb.rank], bytes: encodeFloats(w.dTrain, dtype) });
    tensors.push({ name: `${name}.up`, dtype, shape: [lidb.rank, w.b], bytes: encodeFloats(w.uTrain, dtype) });
  }
  const metadata: Record<string, string> = {
    format: LIDB_FORMAT,
    pack_id: meta.packId,
    aux_sha256: meta.auxSha256,
    rank: String(lidb.rank),
    a: encodeDims(lidb, 'a'),
    b: encodeDims(lidb, 'b'),
    trigger: meta.trigger,
    fine_tune: JSON.stringify(meta.fineTune),
    seed: String(meta.seed),
  };
  if (meta.name !== undefined) metadata.name = meta.name;
  return writeSafetensors(tensors, metadata);
}

function checkWeights(name: string, w: LidbLayerWeights, rank: number): void {
  if (w.dTrain.length !== w.a * rank || w.uTrain.length !== rank * w.b) {
    throw new RangeError(`layer ${name}: D_train has ${w.dTrain.length} values, U_train ${w.uTrain.length}; rank ${rank}, a=${w.a}, b=${w.b} needs ${w.a * rank} and ${rank * w.b}`);
  }
}

export function parseInteger(key: string, s: string | undefined, min: number): number {
  if (s === undefined) return fail('bad-metadata', `metadata has no "${key}"`);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) < min) {
    fail('bad-metadata', `metadata "${key}" = ${JSON.stringify(s.slice(0, 40))} is not an integer ≥ ${min}`);
  }
  return Number(s);
}

/** The per-layer a (or b) the metadata records, as a lookup. */
function parseDims(key: 'a' | 'b', s: string | undefined): (layer: string) => number | undefined {
  if (s === undefined) return fail('bad-metadata', `metadata has no "${key}"`);
  if (/^[0-9]+$/.test(s)) {
    const v = parseInteger(key, s, 1);
    return () => v;
  }
  let obj: JsonObject | undefined;
  try {
    const parsed = parseStrictJson(s);
    if (isJsonObject(parsed)) obj = parsed;
  } catch {
    // reported below
  }
  if (!obj) return fail('bad-metadata', `metadata "${key}" is neither an integer nor a JSON object of integers`);
  return (layer) => {
    const v = Object.prototype.hasOwnProperty.call(obj, layer) ? obj![layer] : undefined;
    return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
  };
}

function parseMeta(md: Record<string, string>): LidbFileMeta {
  const packId = md.pack_id;
  const auxSha256 = md.aux_sha256;
  const trigger = md.trigger;
  if (packId === undefined) fail('bad-metadata', 'metadata has no "pack_id"');
  if (auxSha256 === undefined || !/^[0-9a-f]{64}$/.test(auxSha256)) fail('bad-metadata', `metadata "aux_sha256" = ${JSON.stringify(auxSha256?.slice(0, 80))} is not a sha256`);
  if (trigger === undefined) fail('bad-metadata', 'metadata has no "trigger"');
  let fineTune: JsonObject | undefined;
  try {
    const parsed = parseStrictJson(md.fine_tune ?? '');
    if (isJsonObject(parsed)) fineTune = parsed;
  } catch {
    // reported below
  }
  if (!fineTune) fail('bad-metadata', 'metadata "fine_tune" is not a JSON object');
  const out: LidbFileMeta = {
    packId, auxSha256, trigger,
    fineTune: fineTune!,
    seed: parseInteger('seed', md.seed, 0),
    rank: parseInteger('rank', md.rank, 1),
  };
  if (md.name !== undefined) out.name = md.name;
  return out;
}

/** Header bytes one layer can take: two tensor entries and its a and b in the metadata, generously. */
const HEADER_BYTES_PER_LAYER = (name: string) => 2 * (name.length + 120) + 2 * (name.length + 24);
/** trigger, name, fine_tune settings, pack id, sha256 and the rest of the metadata */
const HEADER_BYTES_METADATA = 64 * 1024;

/**
 * What a LiDB for these layers can hold: two tensors per layer and a header of about the size
 * its entries need, both with a margin (×2 header, +16 tensors) so a LiDB with an odd layer
 * still reports which layer is wrong. The tensor cap also admits a kohya LoRA of this pack's
 * layers (three tensors a layer) so that a LoRA given as a LiDB reaches the format check and
 * its "use Import LoRA" message. A 35 MB header for a 128-layer pack is refused unparsed.
 */
export function lidbLimits(layers: readonly LidbLayerSpec[]): SafetensorsLimits {
  const perLayer = layers.reduce((sum, l) => sum + HEADER_BYTES_PER_LAYER(l.name), 0);
  return {
    maxHeaderBytes: 2 * perLayer + HEADER_BYTES_METADATA,
    maxTensors: 3 * layers.length + 16,
    what: `a LiDB for this pack's ${layers.length} layers`,
  };
}

/** The file's metadata, once it is known to belong to the expected pack and aux bases (both LiDB formats). */
export function checkPackBinding(md: Record<string, string>, expected: Omit<LidbExpectation, 'layers'>): LidbFileMeta {
  if (md.pack_id !== expected.packId) {
    fail('wrong-pack', `this LiDB was made for model pack ${JSON.stringify(md.pack_id?.slice(0, 80))}, the active pack is ${JSON.stringify(expected.packId)}`);
  }
  if (md.aux_sha256 !== expected.auxSha256) {
    fail('aux-mismatch', `this LiDB was made against aux bases with sha256 ${JSON.stringify(md.aux_sha256?.slice(0, 80))}, the active pack's aux file has ${expected.auxSha256}`);
  }
  return parseMeta(md);
}

function readMatrix(t: RawTensor, rows: number, cols: number, what: string): Float32Array {
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') fail('bad-dtype', `${t.name} is ${t.dtype}; LiDB tensors are F32, F16 or BF16`);
  if (t.shape.length !== 2 || t.shape[0] !== rows || t.shape[1] !== cols) {
    fail('bad-shape', `${t.name} is ${JSON.stringify(t.shape)}, expected [${rows}, ${cols}] (${what})`);
  }
  const v = toFloat32(t);
  const bad = outOfRangeMessage(t.name, v, LIDB_MAX_ABS, 'its slot (aux bases × this) would overflow float32');
  if (bad) fail('non-finite', bad);
  return v;
}

/**
 * Reads a LiDB file and checks it belongs to the active pack: same pack id, same aux bases
 * (sha256), exactly the pack's layers with its a and b, one rank throughout, finite values.
 */
export function readLidbFile(bytes: Uint8Array, expected: LidbExpectation): { lidb: Lidb; meta: LidbFileMeta } {
  const limits = lidbLimits(expected.layers);
  const file = rethrowSafetensors('LiDB file', (c, m, cause) => new LidbFileError(c, m, { cause }), () => readSafetensors(bytes, limits));
  const md = file.metadata;
  if (md.format !== LIDB_FORMAT) {
    fail('wrong-format', md.format === undefined
      ? `not a HyperBooth LiDB file (no "format" in its metadata; a kohya or PEFT LoRA file is imported with "Import LoRA (kohya / PEFT)" under My personalizations)`
      : `metadata format is ${JSON.stringify(md.format.slice(0, 80))}, expected ${LIDB_FORMAT}`);
  }
  const meta = checkPackBinding(md, expected);
  const fileA = parseDims('a', md.a);
  const fileB = parseDims('b', md.b);

  const known = new Set(expected.layers.map((l) => l.name));
  const extra = [...file.tensors.keys()].filter((k) => {
    const m = /^(.*)\.(down|up)$/.exec(k);
    return !m || !known.has(m[1]);
  });
  if (extra.length) fail('extra-layer', `tensors for layers the pack does not have: ${extra.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 120))).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`);
  const missing = expected.layers.filter((l) => !file.tensors.has(`${l.name}.down`) || !file.tensors.has(`${l.name}.up`)).map((l) => l.name);
  if (missing.length) fail('missing-layer', `no weights for ${missing.length} of the pack's layers: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);

  const lidb: Lidb = { rank: meta.rank, layers: new Map() };
  for (const l of expected.layers) {
    const { a, b } = auxDims(l);
    if (fileA(l.name) !== a || fileB(l.name) !== b) {
      fail('bad-shape', `layer ${l.name}: the file records a=${fileA(l.name)}, b=${fileB(l.name)}; the pack has a=${a}, b=${b}`);
    }
    const dTrain = readMatrix(file.tensors.get(`${l.name}.down`)!, a, meta.rank, `a=${a} × rank ${meta.rank}`);
    const uTrain = readMatrix(file.tensors.get(`${l.name}.up`)!, meta.rank, b, `rank ${meta.rank} × b=${b}`);
    lidb.layers.set(l.name, { a, b, dTrain, uTrain });
  }
  return { lidb, meta };
}
