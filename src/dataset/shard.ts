// A dataset shard: the images of N identities × K photos × S styles of one split, as one flat
// uint8 RGB array (NHWC, record i at byte i·size·size·3) plus a JSON index holding every
// identity's parameters and every record's photo seed, style and caption. Pure TypeScript:
// planning and rendering work in a browser worker too; shardNode.ts reads and writes files.
import type { RgbaImage } from '../face/image';
import { createRgbaImage } from '../face/image';
import { caption } from './captions';
import { identityAttributes, sampleIdentity, type Identity, type IdentityAttributes } from './identity';
import { DEFAULT_IMAGE_SIZE } from './photo';
import { identitySeeds, isSplit, MAX_PHOTOS_PER_IDENTITY, MAX_WORLD_SEED, photoSeed, splitOfSeed, type Split } from './splits';
import { isStyle, renderStyled, type Style } from './styles';

export const SHARD_FORMAT = 'hyperbooth-synthetic-portraits';
export const SHARD_VERSION = 1;

export interface DatasetSpec {
  split: Split;
  /** number of identities */
  ids: number;
  /** photos per identity; each photo is rendered in every style */
  photos: number;
  styles: Style[];
  /** image side in pixels */
  size?: number;
  /** picks a different world of identities; 0…2^18−1 */
  worldSeed?: number;
  /** first identity index, so several processes can each write a slice of a split */
  start?: number;
}

export interface ShardIdentity {
  /** index within the split */
  index: number;
  seed: number;
  attributes: IdentityAttributes;
  params: Identity;
}

export interface ShardRecord {
  /** position in `identities` */
  identity: number;
  photo: number;
  photoSeed: number;
  style: Style;
  caption: string;
}

export interface ShardIndex {
  format: typeof SHARD_FORMAT;
  version: number;
  split: Split;
  worldSeed: number;
  size: number;
  channels: 3;
  layout: 'NHWC';
  dtype: 'uint8';
  /** file name of the pixel data, next to the index */
  bin: string;
  byteLength: number;
  /** hex SHA-256 of the pixel data, when written by shardNode */
  sha256?: string;
  photosPerIdentity: number;
  styles: Style[];
  identities: ShardIdentity[];
  records: ShardRecord[];
}

export interface Shard {
  index: ShardIndex;
  pixels: Uint8Array;
}

export function normalizeSpec(spec: DatasetSpec): Required<DatasetSpec> {
  const size = spec.size ?? DEFAULT_IMAGE_SIZE;
  const worldSeed = spec.worldSeed ?? 0;
  const start = spec.start ?? 0;
  if (!isSplit(spec.split)) throw new RangeError(`unknown split '${spec.split}'`);
  if (!Number.isInteger(spec.ids) || spec.ids < 1) throw new RangeError(`ids must be a positive integer, got ${spec.ids}`);
  if (!Number.isInteger(spec.photos) || spec.photos < 1 || spec.photos > MAX_PHOTOS_PER_IDENTITY) {
    throw new RangeError(`photos must be an integer in 1…${MAX_PHOTOS_PER_IDENTITY}, got ${spec.photos}`);
  }
  if (spec.styles.length === 0) throw new RangeError('at least one style is needed');
  for (const s of spec.styles) if (!isStyle(s)) throw new RangeError(`unknown style '${s}'`);
  if (new Set(spec.styles).size !== spec.styles.length) throw new RangeError('styles are listed twice');
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw new RangeError(`size must be an integer in 8…1024, got ${size}`);
  if (!Number.isInteger(worldSeed) || worldSeed < 0 || worldSeed > MAX_WORLD_SEED) throw new RangeError(`world seed must be in 0…${MAX_WORLD_SEED}, got ${worldSeed}`);
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`start must be a non-negative integer, got ${start}`);
  return { split: spec.split, ids: spec.ids, photos: spec.photos, styles: [...spec.styles], size, worldSeed, start };
}

export const binFileName = (split: Split) => `${split}.bin`;
export const indexFileName = (split: Split) => `${split}.json`;

/** The index of a shard without its pixels: identities, then records identity-major, photo, style. */
export function planShard(specIn: DatasetSpec): ShardIndex {
  const spec = normalizeSpec(specIn);
  const seeds = identitySeeds(spec.split, spec.ids, spec.worldSeed, spec.start);
  const identities: ShardIdentity[] = seeds.map((seed, i) => {
    const params = sampleIdentity(seed);
    return { index: spec.start + i, seed, attributes: identityAttributes(params), params };
  });
  const records: ShardRecord[] = [];
  identities.forEach((id, i) => {
    for (let p = 0; p < spec.photos; p++) {
      const ps = photoSeed(id.seed, p);
      for (const style of spec.styles) records.push({ identity: i, photo: p, photoSeed: ps, style, caption: caption(id.params, style) });
    }
  });
  return {
    format: SHARD_FORMAT, version: SHARD_VERSION, split: spec.split, worldSeed: spec.worldSeed, size: spec.size,
    channels: 3, layout: 'NHWC', dtype: 'uint8', bin: binFileName(spec.split), byteLength: records.length * spec.size * spec.size * 3,
    photosPerIdentity: spec.photos, styles: spec.styles, identities, records,
  };
}

export const recordBytes = (index: Pick<ShardIndex, 'size'>) => index.size * index.size * 3;

/** Renders record `i` of the index as RGB bytes into `out` at `offset`. */
export function renderRecordInto(index: ShardIndex, i: number, out: Uint8Array, offset: number): void {
  const rec = index.records[i];
  const img = renderStyled(index.identities[rec.identity].params, rec.style, rec.photoSeed, index.size);
  const n = index.size * index.size;
  for (let p = 0; p < n; p++) {
    out[offset + 3 * p] = img.data[4 * p];
    out[offset + 3 * p + 1] = img.data[4 * p + 1];
    out[offset + 3 * p + 2] = img.data[4 * p + 2];
  }
}

/** Plans and renders a whole shard in memory (use shardNode's writer for large ones). */
export function buildShard(spec: DatasetSpec, onProgress?: (done: number, total: number) => void): Shard {
  const index = planShard(spec);
  const pixels = new Uint8Array(index.byteLength);
  const per = recordBytes(index);
  for (let i = 0; i < index.records.length; i++) {
    renderRecordInto(index, i, pixels, i * per);
    onProgress?.(i + 1, index.records.length);
  }
  return { index, pixels };
}

/** Record `i` of a shard as an RGBA image. */
export function shardImage(shard: Shard, i: number): RgbaImage {
  const { index, pixels } = shard;
  if (!Number.isInteger(i) || i < 0 || i >= index.records.length) throw new RangeError(`record ${i} is outside 0…${index.records.length - 1}`);
  const n = index.size * index.size;
  const img = createRgbaImage(index.size, index.size);
  const o = i * n * 3;
  for (let p = 0; p < n; p++) {
    img.data[4 * p] = pixels[o + 3 * p];
    img.data[4 * p + 1] = pixels[o + 3 * p + 1];
    img.data[4 * p + 2] = pixels[o + 3 * p + 2];
    img.data[4 * p + 3] = 255;
  }
  return img;
}

/** Checks a parsed index's structure and consistency; returns it typed. */
export function validateShardIndex(json: unknown): ShardIndex {
  const fail = (why: string): never => {
    throw new Error(`not a valid dataset index: ${why}`);
  };
  if (typeof json !== 'object' || json === null) fail('not a JSON object');
  const x = json as Partial<ShardIndex>;
  if (x.format !== SHARD_FORMAT) fail(`format is ${JSON.stringify(x.format)}, expected "${SHARD_FORMAT}"`);
  if (x.version !== SHARD_VERSION) fail(`version ${x.version} is not supported (this code reads ${SHARD_VERSION})`);
  if (typeof x.split !== 'string' || !isSplit(x.split)) fail(`unknown split ${JSON.stringify(x.split)}`);
  if (!Number.isInteger(x.size) || x.size! < 1) fail('size is not a positive integer');
  if (x.channels !== 3 || x.layout !== 'NHWC' || x.dtype !== 'uint8') fail('only NHWC uint8 RGB shards are supported');
  if (!Array.isArray(x.identities) || !Array.isArray(x.records) || !Array.isArray(x.styles)) fail('identities, records and styles must be arrays');
  if (typeof x.bin !== 'string' || x.bin.includes('/') || x.bin.includes('\\')) fail('bin must be a plain file name');
  const index = x as ShardIndex;
  if (index.byteLength !== index.records.length * recordBytes(index)) fail(`byteLength ${index.byteLength} does not match ${index.records.length} records of ${index.size}²×3`);
  for (const s of index.styles) if (!isStyle(s)) fail(`unknown style ${JSON.stringify(s)}`);
  for (const id of index.identities) {
    const { split } = splitOfSeed(id.seed);
    if (split !== index.split) fail(`identity seed ${id.seed} belongs to split ${split}, not ${index.split}`);
  }
  index.records.forEach((r, i) => {
    if (!Number.isInteger(r.identity) || r.identity < 0 || r.identity >= index.identities.length) fail(`record ${i} names identity ${r.identity}`);
    if (!isStyle(r.style)) fail(`record ${i} has unknown style ${JSON.stringify(r.style)}`);
  });
  return index;
}
