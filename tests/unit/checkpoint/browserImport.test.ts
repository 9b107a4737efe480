// The browser's import path (workers/checkpointImport.ts: a File read with File.slice, a pack
// written into a sink) against the CLI's (`pack --from`, a folder): the same checkpoint gives
// the same pack, every file's sha256 equal. A cancelled or refused import keeps nothing.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../src/checkpoint/errors';
import { packCheckpoint } from '../../../src/checkpoint/packCheckpoint';
import { readClipBpeText } from '../../../src/diffusion/clipBpeNode';
import { memorySink, type MemorySink } from '../../../src/packer/memorySink';
import { CheckpointImport, ImportCancelledError, type PackStorage } from '../../../workers/checkpointImport';
import type { ImportProgress } from '../../../workers/api';
import { removeTempDirs, tempDir } from '../packer/helpers';
import { F16_FILE, MINI_IMAGE } from './helpers';

afterAll(removeTempDirs);

const NAME = 'sd15-mini-f16.safetensors';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Packs held in memory the way OPFS holds them in the worker: a folder per id, manifest.json last. */
class MemoryStorage implements PackStorage {
  readonly packs = new Map<string, MemorySink>();
  async packIds() { return [...this.packs].filter(([, s]) => s.files.has('manifest.json')).map(([id]) => id); }
  async removeUnfinished() { for (const [id, s] of this.packs) if (!s.files.has('manifest.json')) this.packs.delete(id); }
  async open(id: string) {
    const sink = memorySink();
    this.packs.set(id, sink);
    return Object.assign(sink, { remove: async () => { this.packs.delete(id); } });
  }
}

/** A File that records the byte ranges read from it. */
class WatchedFile extends File {
  readonly reads: number[] = [];
  slice(start?: number, end?: number, type?: string): Blob {
    this.reads.push((end ?? this.size) - (start ?? 0));
    return super.slice(start, end, type);
  }
}

const bytes = new Uint8Array(readFileSync(F16_FILE));
const bpe = async () => readClipBpeText();

function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), sha(readFileSync(p)));
    }
  };
  walk(dir);
  return out;
}

describe('importing a checkpoint the browser way', () => {
  for (const fp16 of [false, true]) {
    it(`gives the CLI's pack byte for byte${fp16 ? ' (--fp16)' : ''}, reading the file in slices`, async () => {
      const storage = new MemoryStorage();
      const file = new WatchedFile([bytes], NAME);
      const stages: ImportProgress['stage'][] = [];
      const r = await new CheckpointImport(storage, bpe).run(file, { imageSize: MINI_IMAGE, fp16 }, (p) => { if (stages.at(-1) !== p.stage) stages.push(p.stage); });
      expect(r.id).toBe('sd15-mini-f16');
      expect(r.manifestUrl).toBe('stored-pack:sd15-mini-f16');
      expect(stages).toEqual(['index', 'graphs', 'text_encoder', 'vae_decoder', 'vae_encoder', 'unet', 'done']);
      // never the whole file at once: the largest read is one tensor (or the header)
      expect(Math.max(...file.reads)).toBeLessThan(bytes.byteLength / 4);

      const cli = await packCheckpoint({ from: F16_FILE, out: join(tempDir('cli'), r.id), imageSize: MINI_IMAGE, fp16 });
      const want = filesOf(cli.dir);
      const got = new Map([...storage.packs.get(r.id)!.files].map(([p, b]) => [p, sha(b)]));
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [path, digest] of want) expect(got.get(path), path).toBe(digest);
      expect(r.bytes).toBe(cli.totalBytes);
      expect(r.name).toBe('Stable Diffusion (sd15-mini-f16)');
    }, 120_000);
  }

  it('a second import of the same file gets its own id; a cancel mid-UNet keeps nothing of it', async () => {
    const storage = new MemoryStorage();
    const imp = new CheckpointImport(storage, bpe);
    await imp.run(new File([bytes], NAME), { imageSize: MINI_IMAGE }, () => undefined);
    let sawUnet = false;
    const err = await imp.run(new File([bytes], NAME), { imageSize: MINI_IMAGE }, (p) => {
      if (p.stage === 'unet' && !sawUnet) {
        sawUnet = true;
        expect([...storage.packs.keys()]).toEqual(['sd15-mini-f16', 'sd15-mini-f16-2']);
        imp.cancel();
      }
    }).then(() => null, (e: unknown) => e);
    expect(sawUnet).toBe(true);
    expect(err).toBeInstanceOf(ImportCancelledError);
    expect([...storage.packs.keys()]).toEqual(['sd15-mini-f16']);
  }, 120_000);

  it('a refused file (truncated) throws the checkpoint error and leaves no folder', async () => {
    const storage = new MemoryStorage();
    const err = await new CheckpointImport(storage, bpe).run(new File([bytes.subarray(0, 600_000)], 'cut.safetensors'), {}, () => undefined).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).reason).toBe('truncated');
    expect((err as Error).message).toMatch(/cut\.safetensors is truncated/);
    expect(storage.packs.size).toBe(0);
  });

  it('a full storage is said as such, and what was written goes', async () => {
    const storage = new MemoryStorage();
    const open = storage.open.bind(storage);
    let chunks = 0;
    storage.open = async (id: string) => {
      const sink = await open(id);
      const openFile = sink.openFile.bind(sink);
      sink.openFile = (path: string) => {
        if (++chunks === 3) throw Object.assign(new Error('The operation failed because it would cause the application to exceed its storage quota.'), { name: 'QuotaExceededError' });
        return openFile(path);
      };
      return sink;
    };
    const err = await new CheckpointImport(storage, bpe).run(new File([bytes], NAME), { imageSize: MINI_IMAGE }, () => undefined).then(() => null, (e: unknown) => e);
    expect((err as Error).message).toMatch(/^this browser's storage for the site is full, so the pack made from sd15-mini-f16\.safetensors did not fit \(The operation failed .*storage quota\.\)\. .*delete a stored pack/);
    expect(storage.packs.size).toBe(0);
  }, 120_000);

  it('an unfinished import left by a closed tab is removed by the next one', async () => {
    const storage = new MemoryStorage();
    const left = await storage.open('half');
    await left.writeFile('unet/model.onnx', new Uint8Array(10));
    await new CheckpointImport(storage, bpe).run(new File([bytes], NAME), { imageSize: MINI_IMAGE }, () => undefined);
    expect([...storage.packs.keys()]).toEqual(['sd15-mini-f16']);
  }, 120_000);
});
