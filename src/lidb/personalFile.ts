// `<name>.lidb.safetensors`, format 2: the LiDB and, after the paper's relaxation, the full-space
// residual. Format 1 named two tensors per layer by module path, and on SD1.5 those names were
// 43 KB of a 149 KB file; here each factor is one flat tensor in the pack's layer order (the pack
// id and the sha256 of its aux bases, both checked on load, fix that order), so the header is a
// few hundred bytes: 106 KB in fp32, 53 KB in fp16 for SD1.5's 176 rank-1 layers. Format-1 files
// still load (readLidbFile).
import { readSafetensors, writeSafetensors, type RawTensor, type TensorToWrite } from '../safetensors';
import { encodeFloats, toFloat32 } from '../safetensors/decode';
import { LidbFileError, rethrowSafetensors } from './errors';
import { checkPackBinding, LIDB_FORMAT, lidbLimits, parseInteger, readLidbFile, type LidbExpectation, type LidbFileMeta, type LidbMeta } from './file';
import { auxDims } from './layers';
import type { Lidb } from './lidb';
import type { PersonalWeights, Residual } from './personal';

export const PERSONAL_FORMAT = 'hyperbooth-lidb/2';

/** The largest rank a file may declare (the fine-tune's own limit). */
export const MAX_FILE_RANK = 64;

export interface PersonalFileMeta extends LidbFileMeta {
  /** the file's format: 1 (per-layer tensors, LiDB only) or 2 */
  formatVersion: 1 | 2;
  /** rank of the full-space residual, when the file has one */
  residualRank?: number;
}

const TENSORS = { dTrain: 'd_train', uTrain: 'u_train', residualDown: 'residual_down', residualUp: 'residual_up' } as const;

const fail = (code: ConstructorParameters<typeof LidbFileError>[0], msg: string): never => {
  throw new LidbFileError(code, msg);
};

function flatten(parts: Iterable<Float32Array>): Float32Array {
  const list = [...parts];
  const out = new Float32Array(list.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of list) { out.set(p, at); at += p.length; }
  return out;
}

export function writePersonalFile(weights: PersonalWeights, meta: LidbMeta, opts: { dtype?: 'F32' | 'F16' } = {}): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const { lidb, residual } = weights;
  if (!/^[0-9a-f]{64}$/.test(meta.auxSha256)) throw new RangeError(`auxSha256 ${JSON.stringify(meta.auxSha256)} is not a lowercase hex sha256`);
  if (!Number.isSafeInteger(meta.seed) || meta.seed < 0) throw new RangeError(`seed ${meta.seed} must be a non-negative integer`);
  for (const [name, w] of lidb.layers) {
    if (w.dTrain.length !== w.a * lidb.rank || w.uTrain.length !== lidb.rank * w.b) throw new RangeError(`layer ${name}: D_train/U_train sizes do not match rank ${lidb.rank}, a=${w.a}, b=${w.b}`);
  }
  const flat = (values: Float32Array, name: string): TensorToWrite => ({ name, dtype, shape: [values.length], bytes: encodeFloats(values, dtype) });
  const tensors = [
    flat(flatten([...lidb.layers.values()].map((w) => w.dTrain)), TENSORS.dTrain),
    flat(flatten([...lidb.layers.values()].map((w) => w.uTrain)), TENSORS.uTrain),
  ];
  const metadata: Record<string, string> = {
    format: PERSONAL_FORMAT,
    pack_id: meta.packId,
    aux_sha256: meta.auxSha256,
    layers: String(lidb.layers.size),
    rank: String(lidb.rank),
    trigger: meta.trigger,
    fine_tune: JSON.stringify(meta.fineTune),
    seed: String(meta.seed),
  };
  if (residual) {
    const names = [...lidb.layers.keys()];
    const missing = names.filter((n) => !residual.layers.has(n));
    if (missing.length || residual.layers.size !== names.length) throw new RangeError(`the residual must cover exactly the LiDB's layers (missing ${missing.slice(0, 3).join(', ')})`);
    tensors.push(flat(flatten(names.map((n) => residual.layers.get(n)!.down)), TENSORS.residualDown));
    tensors.push(flat(flatten(names.map((n) => residual.layers.get(n)!.up)), TENSORS.residualUp));
    metadata.residual_rank = String(residual.rank);
  }
  if (meta.name !== undefined) metadata.name = meta.name;
  return writeSafetensors(tensors, metadata);
}

function readFlat(tensors: ReadonlyMap<string, RawTensor>, name: string, count: number, what: string): Float32Array {
  const t = tensors.get(name) ?? fail('missing-layer', `the file has no "${name}" tensor (${what})`);
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') fail('bad-dtype', `${name} is ${t.dtype}; LiDB tensors are F32, F16 or BF16`);
  if (t.shape.length !== 1 || t.shape[0] !== count) fail('bad-shape', `${name} is ${JSON.stringify(t.shape)}, expected [${count}] (${what})`);
  const v = toFloat32(t);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) fail('non-finite', `${name} holds ${v[i]} at index ${i}`);
  return v;
}

function rankOf(md: Record<string, string>, key: string): number {
  const r = parseInteger(key, md[key], 1);
  if (r > MAX_FILE_RANK) fail('bad-metadata', `metadata "${key}" = ${r} is above the largest rank a personal file holds (${MAX_FILE_RANK})`);
  return r;
}

/**
 * Reads a personal weights file of either format and checks it belongs to the active pack: same
 * pack id and aux bases, exactly the pack's layers, finite values.
 */
export function readPersonalFile(bytes: Uint8Array, expected: LidbExpectation): { weights: PersonalWeights; meta: PersonalFileMeta } {
  // the header is capped before it is parsed (a LiDB's few tensors, or format 1's two a layer)
  const file = rethrowSafetensors('LiDB file', (c, m, cause) => new LidbFileError(c, m, { cause }), () => readSafetensors(bytes, lidbLimits(expected.layers)));
  const md = file.metadata;
  if (md.format === LIDB_FORMAT) {
    const { lidb, meta } = readLidbFile(bytes, expected);
    return { weights: { lidb }, meta: { ...meta, formatVersion: 1 } };
  }
  if (md.format !== PERSONAL_FORMAT) {
    fail('wrong-format', md.format === undefined
      ? 'not a HyperBooth LiDB file (no "format" in its metadata; a kohya or PEFT LoRA file is imported with "Import LoRA (kohya / PEFT)" under My personalizations)'
      : `metadata format is ${JSON.stringify(md.format.slice(0, 80))}, expected ${PERSONAL_FORMAT} or ${LIDB_FORMAT}`);
  }
  const base = checkPackBinding(md, expected);
  const rank = rankOf(md, 'rank');
  const count = parseInteger('layers', md.layers, 0);
  if (count !== expected.layers.length) fail('missing-layer', `the file holds ${count} layers, the pack has ${expected.layers.length}`);
  const known = new Set<string>(Object.values(TENSORS));
  const extra = [...file.tensors.keys()].filter((k) => !known.has(k));
  if (extra.length) fail('extra-layer', `unexpected tensors: ${extra.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 80))).join(', ')}`);

  const dims = expected.layers.map((l) => ({ layer: l, ...auxDims(l) }));
  const dAll = readFlat(file.tensors, TENSORS.dTrain, dims.reduce((n, d) => n + d.a * rank, 0), `Σ a × rank ${rank}`);
  const uAll = readFlat(file.tensors, TENSORS.uTrain, dims.reduce((n, d) => n + rank * d.b, 0), `Σ rank ${rank} × b`);
  const lidb: Lidb = { rank, layers: new Map() };
  let da = 0;
  let ua = 0;
  for (const { layer, a, b } of dims) {
    lidb.layers.set(layer.name, { a, b, dTrain: dAll.slice(da, da + a * rank), uTrain: uAll.slice(ua, ua + rank * b) });
    da += a * rank;
    ua += rank * b;
  }

  const meta: PersonalFileMeta = { ...base, rank, formatVersion: 2 };
  const hasDown = file.tensors.has(TENSORS.residualDown);
  const hasUp = file.tensors.has(TENSORS.residualUp);
  if (md.residual_rank === undefined) {
    if (hasDown || hasUp) fail('bad-metadata', 'the file has residual tensors but no "residual_rank"');
    return { weights: { lidb }, meta };
  }
  const residualRank = rankOf(md, 'residual_rank');
  const downAll = readFlat(file.tensors, TENSORS.residualDown, expected.layers.reduce((n, l) => n + l.nIn * residualRank, 0), `Σ n_in × rank ${residualRank}`);
  const upAll = readFlat(file.tensors, TENSORS.residualUp, expected.layers.reduce((n, l) => n + residualRank * l.nOut, 0), `Σ rank ${residualRank} × n_out`);
  const residual: Residual = { rank: residualRank, layers: new Map() };
  let d = 0;
  let u = 0;
  for (const l of expected.layers) {
    residual.layers.set(l.name, { down: downAll.slice(d, d + l.nIn * residualRank), up: upAll.slice(u, u + residualRank * l.nOut) });
    d += l.nIn * residualRank;
    u += residualRank * l.nOut;
  }
  return { weights: { lidb, residual }, meta: { ...meta, residualRank } };
}
