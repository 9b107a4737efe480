// The learned parts of the scorers: feature standardization, ridge regression (the identity
// recognizer's projection) and multinomial logistic regression (the style classifier), in plain
// TypeScript: a few hundred features need no accelerator.

export interface Standardizer {
  mean: Float32Array;
  std: Float32Array;
}

export function fitStandardizer(rows: readonly Float32Array[]): Standardizer {
  const d = rows[0].length;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) { mean[j] += r[j]; sq[j] += r[j] * r[j]; }
  const std = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    mean[j] /= rows.length;
    // features that never vary get std 1, so they standardize to 0 rather than NaN
    std[j] = Math.sqrt(Math.max(0, sq[j] / rows.length - mean[j] * mean[j])) || 1;
  }
  return { mean: Float32Array.from(mean), std };
}

export function standardize(s: Standardizer, x: Float32Array): Float32Array {
  if (x.length !== s.mean.length) throw new Error(`feature vector has ${x.length} values, the model expects ${s.mean.length}`);
  return x.map((v, j) => (v - s.mean[j]) / s.std[j]);
}

/** y = W·x with W [outputs, inputs] row-major. */
export function project(w: Float32Array, outputs: number, x: Float32Array): Float32Array {
  const d = x.length;
  if (w.length !== outputs * d) throw new Error(`projection has ${w.length} weights, expected ${outputs}×${d}`);
  const y = new Float32Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += w[o * d + j] * x[j];
    y[o] = s;
  }
  return y;
}

/** Solves A·X = B for symmetric positive definite A [n,n] (Cholesky), B [n,m]; all row-major. */
export function solveSpd(a: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`matrix is not positive definite (pivot ${i}: ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * m + c];
      for (let k = 0; k < i; k++) s -= l[i * n + k] * x[k * m + c];
      x[i * m + c] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * m + c];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k * m + c];
      x[i * m + c] = s / l[i * n + i];
    }
  }
  return x;
}

/**
 * Ridge regression of centred one-hot class targets on standardized rows: W = (XᵀX + λI)⁻¹XᵀY,
 * returned transposed as [classes, features]. A regularized cousin of LDA: the projection keeps
 * the directions that tell the training classes apart and shrinks the ones that vary within a class.
 */
export function fitRidgeClasses(rows: readonly Float32Array[], labels: readonly number[], classes: number, lambda: number): Float32Array {
  const d = rows[0].length;
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d * classes);
  const prior = 1 / classes;
  for (let r = 0; r < rows.length; r++) {
    const x = rows[r];
    for (let i = 0; i < d; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      for (let j = 0; j <= i; j++) xtx[i * d + j] += xi * x[j];
      for (let c = 0; c < classes; c++) xty[i * classes + c] += xi * ((labels[r] === c ? 1 : 0) - prior);
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) xtx[j * d + i] = xtx[i * d + j];
    xtx[i * d + i] += lambda;
  }
  const w = solveSpd(xtx, d, xty, classes);
  const out = new Float32Array(classes * d);
  for (let i = 0; i < d; i++) for (let c = 0; c < classes; c++) out[c * d + i] = w[i * classes + c];
  return out;
}

export function softmax(z: Float32Array): Float32Array {
  let mx = -Infinity;
  for (const v of z) mx = Math.max(mx, v);
  const e = z.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export interface SoftmaxModel {
  /** [classes, features + 1]: the last column is the bias */
  weights: Float32Array;
  classes: number;
}

export function softmaxLogits(m: SoftmaxModel, x: Float32Array): Float32Array {
  const d = x.length + 1;
  const z = new Float32Array(m.classes);
  for (let c = 0; c < m.classes; c++) {
    let s = m.weights[c * d + d - 1];
    for (let j = 0; j < x.length; j++) s += m.weights[c * d + j] * x[j];
    z[c] = s;
  }
  return z;
}

/** Multinomial logistic regression by full-batch gradient descent with L2 on the weights (not the bias). */
export function fitSoftmax(rows: readonly Float32Array[], labels: readonly number[], classes: number, opts: { iterations: number; learningRate: number; l2: number }): SoftmaxModel {
  const f = rows[0].length;
  const d = f + 1;
  const m: SoftmaxModel = { weights: new Float32Array(classes * d), classes };
  const grad = new Float64Array(classes * d);
  for (let it = 0; it < opts.iterations; it++) {
    grad.fill(0);
    for (let r = 0; r < rows.length; r++) {
      const p = softmax(softmaxLogits(m, rows[r]));
      for (let c = 0; c < classes; c++) {
        const e = p[c] - (labels[r] === c ? 1 : 0);
        for (let j = 0; j < f; j++) grad[c * d + j] += e * rows[r][j];
        grad[c * d + f] += e;
      }
    }
    for (let k = 0; k < grad.length; k++) {
      const reg = k % d === f ? 0 : opts.l2 * m.weights[k];
      m.weights[k] -= opts.learningRate * (grad[k] / rows.length + reg);
    }
  }
  return m;
}
