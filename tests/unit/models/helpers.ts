// Shared by the model-pack tests: seeded inputs, sessions over built models, comparisons.
import { encodeModel, type ModelProto } from '../../../src/onnx';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import type { Feeds, Session, Tensor } from '../../../src/runtime/types';
import { Prng } from '../../../src/models';
import { loraInputNames, type LoraLayer } from '../../../src/packs/manifest';

const runtime = createNodeRuntime();

export function session(name: string, model: ModelProto | Uint8Array): Promise<Session> {
  return runtime.createSession({ name, model: model instanceof Uint8Array ? model : encodeModel(model) });
}

export function randn(n: number, seed: number, std = 1): Float32Array {
  const rng = new Prng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * std);
}

export const f32 = (data: Float32Array, dims: number[]): Tensor => ({ type: 'float32', data, dims });

/** Slot feeds for every layer: rank `rank`, values from `fill(layerIndex, 'down'|'up', size)`. */
export function loraFeeds(layers: LoraLayer[], rank: number, fill: (i: number, which: 'down' | 'up', n: number) => Float32Array): Feeds {
  const feeds: Feeds = {};
  layers.forEach((l, i) => {
    const names = loraInputNames(l.name);
    feeds[names.down] = f32(fill(i, 'down', l.nIn * rank), [l.nIn, rank]);
    feeds[names.up] = f32(fill(i, 'up', rank * l.nOut), [rank, l.nOut]);
  });
  return feeds;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function summary(a: Float32Array): { finite: boolean; min: number; max: number; std: number } {
  let min = Infinity, max = -Infinity, s = 0, s2 = 0, finite = true;
  for (const v of a) {
    if (!Number.isFinite(v)) finite = false;
    min = Math.min(min, v); max = Math.max(max, v); s += v; s2 += v * v;
  }
  const mean = s / a.length;
  return { finite, min, max, std: Math.sqrt(Math.max(0, s2 / a.length - mean * mean)) };
}
