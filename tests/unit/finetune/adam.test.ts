import { describe, expect, it } from 'vitest';
import { Adam } from '../../../src/finetune/adam';

/** Adam in float64, written out from the paper's algorithm, for comparison. */
function reference(p0: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number, wd: number): number[] {
  const p = [...p0];
  const m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mh = m[i] / (1 - b1 ** t), vh = v[i] / (1 - b2 ** t);
      p[i] = p[i] - lr * wd * p[i] - (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return p;
}

describe('Adam', () => {
  it('follows the algorithm step by step (bias correction, decoupled weight decay)', () => {
    const p0 = [0.5, -1, 2, 0];
    const grads = [[1, -2, 0.5, 0], [0.3, 0.1, -1, 2], [-0.7, 0.2, 0.2, -0.1]];
    const params = { w: Float32Array.from(p0) };
    const adam = new Adam(params, { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1 });
    for (const g of grads) adam.step({ w: Float32Array.from(g) });
    const want = reference(p0, grads, 0.01, 0.8, 0.95, 1e-6, 0.1);
    Array.from(params.w).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(adam.steps).toBe(3);
  });

  it('takes a per-step learning rate (a schedule) without changing the moments', () => {
    const grads = [[0.5, -2, 0.1], [0.3, -1, -0.4], [-0.2, 0.7, 0.9]];
    const rates = [1e-2, 5e-3, 1e-3];
    const p = { w: Float32Array.from([1, -1, 0.5]) };
    const adam = new Adam(p, { lr: 1e-2 });
    grads.forEach((g, k) => adam.step({ w: Float32Array.from(g) }, rates[k]));
    // the algorithm written out with each step's own rate (a fixed 1e-2 would miss by ~1e-2)
    const q = [1, -1, 0.5], m = [0, 0, 0], v = [0, 0, 0];
    grads.forEach((g, k) => {
      for (let i = 0; i < 3; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        q[i] -= (rates[k] * m[i] / (1 - 0.9 ** (k + 1))) / (Math.sqrt(v[i] / (1 - 0.999 ** (k + 1))) + 1e-8);
      }
    });
    Array.from(p.w).forEach((x, i) => expect(x).toBeCloseTo(q[i], 6));
  });

  it('moves each parameter by about lr against the sign of its first gradient', () => {
    const params = { a: new Float32Array([1, 1]), b: new Float32Array([0]) };
    new Adam(params, { lr: 0.1 }).step({ a: new Float32Array([5, -0.001]), b: new Float32Array([1e-3]) });
    expect(params.a[0]).toBeCloseTo(0.9, 5);
    expect(params.a[1]).toBeCloseTo(1.1, 4);
    expect(params.b[0]).toBeCloseTo(-0.1, 4);
  });

  it('minimizes an ill-conditioned quadratic', () => {
    const params = { x: new Float32Array([3, -2]) };
    const adam = new Adam(params, { lr: 0.05 });
    const loss = () => 100 * params.x[0] ** 2 + 0.5 * params.x[1] ** 2;
    const start = loss();
    for (let i = 0; i < 500; i++) adam.step({ x: new Float32Array([200 * params.x[0], params.x[1]]) });
    expect(loss()).toBeLessThan(start * 1e-3);
  });

  it('rejects missing or mis-sized gradients and bad hyperparameters', () => {
    const adam = new Adam({ w: new Float32Array(3) });
    expect(() => adam.step({})).toThrow(/no gradient for 'w'/);
    expect(() => adam.step({ w: new Float32Array(2) })).toThrow(/2 values/);
    expect(() => new Adam({}, { lr: 0 })).toThrow(/lr/);
    expect(() => new Adam({}, { beta2: 1 })).toThrow(/beta2/);
  });
});
