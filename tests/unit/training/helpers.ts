// Shared fixtures of the training smoke tests: a tiny shard on disk and the random-weight tiny
// pack (what `make-tiny-pack` writes and a real run starts from; the committed pack is trained).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeShard } from '../../../src/dataset/shardNode';
import type { DatasetSpec } from '../../../src/dataset/shard';
import { buildTinyPack } from '../../../src/models';
import { writePack } from '../../../src/packs/writePack';

let randomPackDir: string | undefined;

/** The fresh random-weight tiny pack in a temp folder, written once per test process. */
export function randomTinyPack(): string {
  if (!randomPackDir) {
    randomPackDir = tempDir('random-pack');
    writePack(randomPackDir, buildTinyPack());
  }
  return randomPackDir;
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `hyperbooth-train-${label}-`));
}

export function tinyShard(spec: Partial<DatasetSpec> = {}): string {
  const dir = tempDir('shard');
  writeShard(dir, { split: 'train', ids: 3, photos: 2, styles: ['photo'], size: 64, ...spec });
  return dir;
}

export function logLosses(runDir: string): { step: number; loss: number; [k: string]: number }[] {
  return readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
