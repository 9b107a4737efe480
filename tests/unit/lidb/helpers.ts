// Shared fixtures for the LiDB tests: a small layer set with narrow and wide layers, and
// float64 reference products.
import type { LoraLayer } from '../../../src/packs/manifest';
import { LidbRng } from '../../../src/lidb';

export const SMALL_LAYERS: LoraLayer[] = [
  { name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', target: 'unet', nIn: 32, nOut: 32 },
  { name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', target: 'unet', nIn: 24, nOut: 32 },
  { name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0', target: 'unet', nIn: 32, nOut: 32 },
  { name: 'mid_block.attentions.0.transformer_blocks.0.attn1.to_v', target: 'unet', nIn: 160, nOut: 120 },
  { name: 'text_model.encoder.layers.0.self_attn.q_proj', target: 'text_encoder', nIn: 24, nOut: 24 },
  { name: 'text_model.encoder.layers.0.self_attn.out_proj', target: 'text_encoder', nIn: 24, nOut: 24 },
];

/** C = A·B in float64 (A [m,k], B [k,n]) */
export function matmul64(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    c[i * n + j] = s;
  }
  return c;
}

export function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`lengths ${x.length} and ${y.length} differ`);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

export function randomArray(n: number, rng: LidbRng, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

export const AUX_SHA = 'ab'.repeat(32);
