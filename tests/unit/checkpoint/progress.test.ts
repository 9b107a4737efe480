// Progress per stage and cancel: what the in-app conversion (a Web Worker) will show and offer.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packCheckpoint, type CheckpointProgress } from '../../../src/checkpoint/packCheckpoint';
import { removeTempDirs, tempDir } from '../packer/helpers';
import { F16_FILE, MINI_IMAGE } from './helpers';

afterAll(removeTempDirs);

describe('checkpoint conversion: progress and cancel', () => {
  it('reports each stage in order, each part counting up to its own total of bytes', async () => {
    const seen: CheckpointProgress[] = [];
    await packCheckpoint({ from: F16_FILE, out: join(tempDir('progress'), 'p'), imageSize: MINI_IMAGE, onProgress: (p) => seen.push({ ...p }) });
    const stages = seen.map((p) => p.stage).filter((s, i, a) => a[i - 1] !== s);
    expect(stages).toEqual(['index', 'graphs', 'text_encoder', 'vae_decoder', 'vae_encoder', 'unet', 'done']);
    for (const part of ['text_encoder', 'vae_decoder', 'vae_encoder', 'unet'] as const) {
      const ps = seen.filter((p) => p.stage === part);
      expect(ps.length, part).toBeGreaterThan(1);
      expect(ps.every((p, i) => i === 0 || p.done > ps[i - 1].done), part).toBe(true);
      expect(ps[ps.length - 1].done, part).toBe(ps[0].total);
    }
  });

  it('an AbortSignal stops it between tensors; --out is left as it was and no staging folder stays', async () => {
    const root = tempDir('cancel');
    const out = join(root, 'pack');
    mkdirSync(out);
    writeFileSync(join(out, 'manifest.json'), 'before');
    const controller = new AbortController();
    const err = await packCheckpoint({
      from: F16_FILE, out, imageSize: MINI_IMAGE, signal: controller.signal,
      onProgress: (p) => { if (p.stage === 'unet' && p.done > 0) controller.abort(); },
    }).then(() => null, (e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe('before');
    expect(readdirSync(root)).toEqual(['pack']);
    expect(existsSync(join(out, 'unet'))).toBe(false);
  });
});
