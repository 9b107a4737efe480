import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { run as datasetCommand } from '../../../tools/commands/dataset';
import {
  buildShard, caption, identitySeed, photoSeed, planShard, renderStyled, sampleIdentity, shardImage, validateShardIndex,
} from '../../../src/dataset';
import { readShard } from '../../../src/dataset/shardNode';

const dir = mkdtempSync(join(tmpdir(), 'hb-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<number> {
  const log = console.log;
  const err = process.stderr.write;
  console.log = () => {};
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await datasetCommand(argv);
  } finally {
    console.log = log;
    process.stderr.write = err;
  }
}

describe('shards', () => {
  it('plans records identity-major, then photo, then style, with captions and photo seeds', () => {
    const index = planShard({ split: 'val', ids: 2, photos: 2, styles: ['photo', 'neon'], start: 10, worldSeed: 4 });
    expect(index.records.map((r) => [r.identity, r.photo, r.style])).toEqual([
      [0, 0, 'photo'], [0, 0, 'neon'], [0, 1, 'photo'], [0, 1, 'neon'], [1, 0, 'photo'], [1, 0, 'neon'], [1, 1, 'photo'], [1, 1, 'neon'],
    ]);
    expect(index.identities.map((d) => d.index)).toEqual([10, 11]);
    expect(index.identities[1].seed).toBe(identitySeed('val', 11, 4));
    expect(index.identities[1].params).toEqual(sampleIdentity(identitySeed('val', 11, 4)));
    expect(index.records[3].photoSeed).toBe(photoSeed(index.identities[0].seed, 1));
    expect(index.records[3].caption).toBe(caption(index.identities[0].params, 'neon'));
    expect(index.byteLength).toBe(8 * 64 * 64 * 3);
  });

  it('the CLI writes a shard that reads back identically to a fresh render', async () => {
    expect(await cli(['--out', dir, '--split', 'train', '--ids', '3', '--photos', '2', '--styles', 'photo,pencil-sketch', '--seed', '5', '--png'])).toBe(0);
    const shard = readShard(dir, 'train');
    const memory = buildShard({ split: 'train', ids: 3, photos: 2, styles: ['photo', 'pencil-sketch'], worldSeed: 5 });
    expect(Buffer.from(shard.pixels).equals(Buffer.from(memory.pixels))).toBe(true);
    expect({ ...shard.index, sha256: undefined }).toEqual({ ...memory.index, sha256: undefined });
    expect(shard.index.records).toHaveLength(12);
    // record 5: identity 1, photo 0, pencil sketch
    const r = shard.index.records[5];
    expect([r.identity, r.photo, r.style]).toEqual([1, 0, 'pencil-sketch']);
    const fresh = renderStyled(sampleIdentity(identitySeed('train', 1, 5)), 'pencil-sketch', r.photoSeed, 64);
    expect(Buffer.from(shardImage(shard, 5).data).equals(Buffer.from(fresh.data))).toBe(true);
    // and the PNGs hold the same pixels
    const pngs = readdirSync(join(dir, 'train-png')).sort();
    expect(pngs).toHaveLength(12);
    expect(pngs).toContain('id00001_p00_pencil-sketch.png');
    const png = PNG.sync.read(readFileSync(join(dir, 'train-png', 'id00001_p00_pencil-sketch.png')));
    expect(Buffer.from(png.data).equals(Buffer.from(fresh.data))).toBe(true);
  });

  it('refuses a damaged bin and an index whose identities belong to another split', async () => {
    expect(await cli(['--out', dir, '--split', 'heldout', '--ids', '2', '--photos', '1'])).toBe(0);
    const bin = join(dir, 'heldout.bin');
    const bytes = readFileSync(bin);
    bytes[100] ^= 0xff;
    writeFileSync(bin, bytes);
    expect(() => readShard(dir, 'heldout')).toThrow(/SHA-256/);
    const index = JSON.parse(readFileSync(join(dir, 'heldout.json'), 'utf8'));
    index.split = 'train';
    expect(() => validateShardIndex(index)).toThrow(/belongs to split heldout/);
  });

  it('the selfie subcommand writes one PNG of a held-out identity', async () => {
    const out = join(dir, 'selfie.png');
    expect(await cli(['selfie', '--id', '3', '--split', 'heldout', '--out', out, '--size', '128'])).toBe(0);
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).toEqual([128, 128]);
    const id = sampleIdentity(identitySeed('heldout', 3));
    const expected = renderStyled(id, 'photo', photoSeed(id.seed, 0), 128);
    expect(Buffer.from(png.data).equals(Buffer.from(expected.data))).toBe(true);
  });

  it('answers bad flags with a usage error (exit 2)', async () => {
    const err = console.error;
    console.error = () => {};
    try {
      expect(await cli(['--out', dir, '--split', 'test', '--ids', '1', '--photos', '1'])).toBe(2);
      expect(await cli(['--out', dir, '--split', 'train', '--ids', '1', '--photos', '1', '--styles', 'cubism'])).toBe(2);
      expect(await cli(['--out', dir, '--split', 'train', '--photos', '1'])).toBe(2);
      expect(await cli(['selfie', '--out', join(dir, 'x.png')])).toBe(2);
    } finally {
      console.error = err;
    }
  });
});
