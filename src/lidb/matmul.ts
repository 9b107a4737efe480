// Small dense products for LiDB ↔ slot conversions: row-major Float32Array in and out, float64
// accumulation so a product over 1280 terms keeps float32 accuracy.

export type Matrix = Float32Array | Float64Array;

/** C [m, n] = A [m, k] · B [k, n] */
export function matmul(a: Matrix, b: Matrix, m: number, k: number, n: number): Float32Array {
  checkSize('A', a, m * k);
  checkSize('B', b, k * n);
  const out = new Float32Array(m * n);
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      const row = p * n;
      for (let j = 0; j < n; j++) acc[j] += aip * b[row + j];
    }
    out.set(acc, i * n);
  }
  return out;
}

/** C [m, n] = Aᵀ · B with A [k, m], B [k, n] */
export function matmulTransA(a: Matrix, b: Matrix, k: number, m: number, n: number): Float32Array {
  checkSize('A', a, k * m);
  checkSize('B', b, k * n);
  const acc = new Float64Array(m * n);
  for (let p = 0; p < k; p++) {
    for (let i = 0; i < m; i++) {
      const api = a[p * m + i];
      const row = i * n;
      for (let j = 0; j < n; j++) acc[row + j] += api * b[p * n + j];
    }
  }
  return Float32Array.from(acc);
}

/** C [m, n] = A · Bᵀ with A [m, k], B [n, k] */
export function matmulTransB(a: Matrix, b: Matrix, m: number, k: number, n: number): Float32Array {
  checkSize('A', a, m * k);
  checkSize('B', b, n * k);
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Aᵀ [cols, rows] of A [rows, cols] */
export function transpose(a: Matrix, rows: number, cols: number): Float32Array {
  checkSize('A', a, rows * cols);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

function checkSize(name: string, x: Matrix, n: number): void {
  if (x.length !== n) throw new RangeError(`matrix ${name} has ${x.length} elements, expected ${n}`);
}
