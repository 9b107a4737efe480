// Node-only shard files: `<dir>/<split>.bin` (RGB bytes, streamed to disk as records render),
// `<dir>/<split>.json` (the index, with the SHA-256 of the bin) and optionally PNGs of every
// record in `<dir>/<split>-png/`.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAtomic, writeFileAtomic } from '../files/atomicWrite';
import { deflateSync } from 'node:zlib';
import { encodePng } from './png';
import {
  indexFileName, planShard, recordBytes, renderRecordInto, shardImage, validateShardIndex,
  type DatasetSpec, type Shard, type ShardIndex, type ShardRecord,
} from './shard';
import type { Split } from './splits';

export interface WriteShardOptions {
  png?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface WrittenShard {
  index: ShardIndex;
  indexPath: string;
  binPath: string;
  pngDir: string | null;
}

export const pngDirName = (split: Split) => `${split}-png`;

export function recordPngName(index: ShardIndex, r: ShardRecord): string {
  const id = index.identities[r.identity].index;
  return `id${String(id).padStart(5, '0')}_p${String(r.photo).padStart(2, '0')}_${r.style}.png`;
}

/** Renders the shard of `spec` into `dir`, writing pixels in batches so memory stays small. */
export function writeShard(dir: string, spec: DatasetSpec, opts: WriteShardOptions = {}): WrittenShard {
  const index = planShard(spec);
  mkdirSync(dir, { recursive: true });
  const binPath = join(dir, index.bin);
  const indexPath = join(dir, indexFileName(index.split));
  const pngDir = opts.png ? join(dir, pngDirName(index.split)) : null;
  if (pngDir) mkdirSync(pngDir, { recursive: true });
  const per = recordBytes(index);
  const batch = Math.max(1, Math.floor((4 << 20) / per));
  const buffer = new Uint8Array(batch * per);
  const hash = createHash('sha256');
  const bin = openAtomic(binPath);
  try {
    const total = index.records.length;
    for (let first = 0; first < total; first += batch) {
      const n = Math.min(batch, total - first);
      for (let k = 0; k < n; k++) renderRecordInto(index, first + k, buffer, k * per);
      const chunk = buffer.subarray(0, n * per);
      bin.write(chunk);
      hash.update(chunk);
      if (pngDir) {
        const slice: Shard = { index: { ...index, records: index.records.slice(first, first + n) }, pixels: chunk };
        for (let k = 0; k < n; k++) {
          writeFileAtomic(join(pngDir, recordPngName(index, index.records[first + k])), encodePng(shardImage(slice, k), { rgb: true, deflate: (b) => deflateSync(b) }));
        }
      }
      opts.onProgress?.(first + n, total);
    }
    bin.commit();
  } catch (e) {
    bin.abort();
    throw e;
  }
  index.sha256 = hash.digest('hex');
  writeFileAtomic(indexPath, JSON.stringify(index));
  return { index, indexPath, binPath, pngDir };
}

/** Reads `<dir>/<split>.json` and its bin, checking the size and SHA-256. */
export function readShard(dir: string, split: Split): Shard {
  const index = validateShardIndex(JSON.parse(readFileSync(join(dir, indexFileName(split)), 'utf8')));
  const buf = readFileSync(join(dir, index.bin));
  if (buf.length !== index.byteLength) throw new Error(`${index.bin} has ${buf.length} bytes, the index says ${index.byteLength}`);
  if (index.sha256) {
    const actual = createHash('sha256').update(buf).digest('hex');
    if (actual !== index.sha256) throw new Error(`${index.bin} does not match the index's SHA-256 (damaged or from another run)`);
  }
  return { index, pixels: new Uint8Array(buf.buffer, buf.byteOffset, buf.length) };
}
