// Shared by the packer tests: the committed export fixtures (tests/fixtures/sd, made by
// tools/fixtures/make_sd_fixtures.py), temporary folders, and running graphs with
// onnxruntime-node exactly as the app's Node runtime does.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { packExport, type PackOptions, type PackResult } from '../../../src/packer';
import type { Feeds, Tensor } from '../../../src/runtime/types';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/sd', import.meta.url));
export const fixture = (layout: 'diffusers' | 'optimum' | 'ort-optimized') => join(FIXTURES, layout);

const made: string[] = [];
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `hyperbooth-packer-${tag}-`));
  made.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A writable copy of a fixture export, for tests that break it. */
export function copyExport(layout: 'diffusers' | 'optimum'): string {
  const dir = join(tempDir('export'), layout);
  cpSync(fixture(layout), dir, { recursive: true });
  return dir;
}

/** The diffusers fixture fixes no image size; the optimum one has unet/config.json. */
export async function packFixture(layout: 'diffusers' | 'optimum', opts: Partial<PackOptions> = {}): Promise<PackResult> {
  const out = join(tempDir(layout), opts.id ?? `sd-${layout}`);
  return packExport({ from: fixture(layout), out, ...(layout === 'diffusers' ? { imageSize: 64 } : {}), ...opts });
}

/** Runs an exported .onnx from disk (ORT finds its external data beside it). */
export async function runFile(path: string, feeds: Feeds, output: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.type, t.data as never, t.dims as number[]);
    const out = await session.run(ortFeeds, [output]);
    return out[output].data as Float32Array;
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

export function float32(data: Float32Array, dims: number[]): Tensor {
  return { type: 'float32', data, dims };
}
