import { describe, expect, it } from 'vitest';
import {
  auxDims, checkAuxMatches, initLidb, layerToSlot, lidbFromRows, LidbFileError, LidbRng, lidbSize, lidbToSlots, makeAuxBases,
  matmul, matmulTransA, matmulTransB, rankRelax, readAuxFile, RELAX_STD, sd15LoraLayers, slotGradsToLidbGrads, transpose,
  writeAuxFile, zeroLidb,
} from '../../../src/lidb';
import { matmul64, maxAbs, maxAbsDiff, randomArray, SMALL_LAYERS } from './helpers';

describe('matmul helpers', () => {
  const rng = new LidbRng(1);
  const [m, k, n] = [7, 13, 5];
  const a = randomArray(m * k, rng);
  const b = randomArray(k * n, rng);
  const ref = matmul64(a, b, m, k, n);
  it('A·B, Aᵀ·B and A·Bᵀ agree with a float64 reference', () => {
    expect(maxAbsDiff(matmul(a, b, m, k, n), ref)).toBeLessThan(1e-5);
    expect(maxAbsDiff(matmulTransA(transpose(a, m, k), b, k, m, n), ref)).toBeLessThan(1e-5);
    expect(maxAbsDiff(matmulTransB(a, transpose(b, k, n), m, k, n), ref)).toBeLessThan(1e-5);
    expect(() => matmul(a, b, m, k + 1, n)).toThrow(RangeError);
  });
});

describe('aux bases', () => {
  const aux = makeAuxBases(SMALL_LAYERS, 1234);

  it('follow the a = min(100, nIn), b = min(50, nOut) rule', () => {
    expect(auxDims(SMALL_LAYERS[0])).toEqual({ a: 32, b: 32 });
    expect(auxDims(SMALL_LAYERS[3])).toEqual({ a: 100, b: 50 });
    expect(auxDims({ ...SMALL_LAYERS[3], a: 10, b: 7 })).toEqual({ a: 10, b: 7 });
    expect(() => auxDims({ ...SMALL_LAYERS[0], a: 33 })).toThrow(RangeError);
    const sd = sd15LoraLayers();
    expect(sd.length).toBe(176);
    expect(sd.every((l) => auxDims(l).a === 100 && auxDims(l).b === 50)).toBe(true);
  });

  it('D_aux has orthonormal columns and U_aux orthonormal rows (to 1e-5)', () => {
    for (const x of aux.bases.values()) {
      const dtd = matmul64(transpose(x.dAux, x.nIn, x.a), x.dAux, x.a, x.nIn, x.a);
      const uut = matmul64(x.uAux, transpose(x.uAux, x.b, x.nOut), x.b, x.nOut, x.b);
      const eye = (n: number) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
      expect(maxAbsDiff(dtd, eye(x.a))).toBeLessThan(1e-5);
      expect(maxAbsDiff(uut, eye(x.b))).toBeLessThan(1e-5);
    }
  });

  it('are deterministic per (seed, layer name) and independent of the other layers', () => {
    const again = makeAuxBases([SMALL_LAYERS[3]], 1234).bases.get(SMALL_LAYERS[3].name)!;
    const first = aux.bases.get(SMALL_LAYERS[3].name)!;
    expect(Buffer.from(again.dAux.buffer).equals(Buffer.from(first.dAux.buffer))).toBe(true);
    expect(Buffer.from(again.uAux.buffer).equals(Buffer.from(first.uAux.buffer))).toBe(true);
    const other = makeAuxBases([SMALL_LAYERS[3]], 1235).bases.get(SMALL_LAYERS[3].name)!;
    expect(maxAbsDiff(other.dAux, first.dAux)).toBeGreaterThan(0.1);
    // two layers of the same size get different bases
    const [q, out] = [aux.bases.get(SMALL_LAYERS[0].name)!, aux.bases.get(SMALL_LAYERS[2].name)!];
    expect(maxAbsDiff(q.dAux, out.dAux)).toBeGreaterThan(0.1);
  });

  it('round-trip through the aux file bit for bit and are checked against the manifest', () => {
    const bytes = writeAuxFile(aux);
    const back = readAuxFile(bytes, SMALL_LAYERS);
    expect(back.seed).toBe(1234);
    expect([...back.bases.keys()]).toEqual(SMALL_LAYERS.map((l) => l.name));
    for (const [name, x] of aux.bases) {
      expect(back.bases.get(name)!.dAux).toEqual(x.dAux);
      expect(back.bases.get(name)!.uAux).toEqual(x.uAux);
      expect(back.bases.get(name)!.target).toBe(x.target);
    }
    const code = (f: () => unknown) => { try { f(); } catch (e) { expect(e).toBeInstanceOf(LidbFileError); return (e as LidbFileError).code; } return 'none'; };
    expect(code(() => readAuxFile(bytes, SMALL_LAYERS.slice(1)))).toBe('extra-layer');
    expect(code(() => readAuxFile(bytes, [...SMALL_LAYERS, { name: 'x', target: 'unet', nIn: 4, nOut: 4 }]))).toBe('missing-layer');
    expect(code(() => checkAuxMatches(back, SMALL_LAYERS.map((l, i) => (i === 1 ? { ...l, nIn: 48 } : l))))).toBe('bad-shape');
    expect(code(() => readAuxFile(bytes.slice(0, bytes.length - 1)))).toBe('truncated');
    const half = readAuxFile(writeAuxFile(aux, { dtype: 'F16' }), SMALL_LAYERS);
    for (const [name, x] of aux.bases) {
      expect(maxAbsDiff(half.bases.get(name)!.dAux, x.dAux)).toBeLessThan(2 ** -11);
      expect(maxAbsDiff(half.bases.get(name)!.uAux, x.uAux)).toBeLessThan(2 ** -11);
    }
  });
});

describe('LiDB ↔ slots', () => {
  const aux = makeAuxBases(SMALL_LAYERS, 7);
  const rng = new LidbRng(99);

  it('initLidb: xavier-normal D_train, zero U_train', () => {
    const lidb = initLidb(SMALL_LAYERS, 2, rng);
    const w = lidb.layers.get(SMALL_LAYERS[3].name)!;
    expect(w.dTrain.length).toBe(100 * 2);
    expect(maxAbs(w.uTrain)).toBe(0);
    const std = Math.sqrt(w.dTrain.reduce((s, v) => s + v * v, 0) / w.dTrain.length);
    expect(std).toBeGreaterThan(0.7 * Math.sqrt(2 / 102));
    expect(std).toBeLessThan(1.3 * Math.sqrt(2 / 102));
    expect(lidbSize(initLidb(sd15LoraLayers(), 1, rng))).toBe(26_400);
  });

  it('slots are the explicit products D_aux·D_train and U_train·U_aux (float64 reference)', () => {
    const r = 3;
    const lidb = initLidb(SMALL_LAYERS, r, rng);
    for (const w of lidb.layers.values()) w.uTrain.set(randomArray(w.uTrain.length, rng, 0.3));
    const slots = lidbToSlots(lidb, aux);
    for (const l of SMALL_LAYERS) {
      const x = aux.bases.get(l.name)!;
      const w = lidb.layers.get(l.name)!;
      const s = slots.get(l.name)!;
      expect(s.rank).toBe(r);
      const down = matmul64(x.dAux, w.dTrain, l.nIn, x.a, r);
      const up = matmul64(w.uTrain, x.uAux, r, x.b, l.nOut);
      expect(maxAbsDiff(s.down, down)).toBeLessThan(1e-6);
      expect(maxAbsDiff(s.up, up)).toBeLessThan(1e-6);
      // and the residual is D_aux·D_train·U_train·U_aux
      const delta = matmul64(matmul64(x.dAux, matmul64(w.dTrain, w.uTrain, x.a, r, x.b), l.nIn, x.a, x.b), x.uAux, l.nIn, x.b, l.nOut);
      expect(maxAbsDiff(matmul64(s.down, s.up, l.nIn, r, l.nOut), delta)).toBeLessThan(1e-5);
    }
  });

  it('slot gradients map to LiDB gradients that match finite differences of ⟨G, D_aux·D_train·U_train·U_aux⟩', () => {
    const r = 2;
    const l = SMALL_LAYERS[1]; // 24 → 32, a = 24, b = 32
    const x = aux.bases.get(l.name)!;
    const lidb = initLidb([l], r, rng);
    const w = lidb.layers.get(l.name)!;
    w.uTrain.set(randomArray(w.uTrain.length, rng, 0.5));
    const G = randomArray(l.nIn * l.nOut, rng);
    // f(D_train, U_train) = Σ G ⊙ (D_aux·D_train·U_train·U_aux), in float64
    const f = (d: ArrayLike<number>, u: ArrayLike<number>) => {
      const delta = matmul64(matmul64(x.dAux, d, l.nIn, x.a, r), matmul64(u, x.uAux, r, x.b, l.nOut), l.nIn, r, l.nOut);
      let s = 0;
      for (let i = 0; i < delta.length; i++) s += G[i] * delta[i];
      return s;
    };
    // slot gradients of ⟨G, down·up⟩: ∂/∂down = G·upᵀ, ∂/∂up = downᵀ·G
    const slot = layerToSlot(x, w, r);
    const gradDown = Float32Array.from(matmul64(G, transpose(slot.up, r, l.nOut), l.nIn, l.nOut, r));
    const gradUp = Float32Array.from(matmul64(transpose(slot.down, l.nIn, r), G, r, l.nIn, l.nOut));
    const g = slotGradsToLidbGrads(x, gradDown, gradUp, r);
    expect(g.dTrain.length).toBe(x.a * r);
    expect(g.uTrain.length).toBe(r * x.b);
    const h = 1e-3;
    const fd = (which: 'd' | 'u', i: number) => {
      const d = Float64Array.from(w.dTrain);
      const u = Float64Array.from(w.uTrain);
      const v = which === 'd' ? d : u;
      v[i] += h; const fp = f(d, u);
      v[i] -= 2 * h; const fm = f(d, u);
      return (fp - fm) / (2 * h);
    };
    const scale = maxAbs(g.dTrain) + maxAbs(g.uTrain);
    for (let i = 0; i < g.dTrain.length; i++) expect(Math.abs(g.dTrain[i] - fd('d', i))).toBeLessThan(1e-4 * scale);
    for (let i = 0; i < g.uTrain.length; i++) expect(Math.abs(g.uTrain[i] - fd('u', i))).toBeLessThan(1e-4 * scale);
  });

  it('rankRelax keeps the prediction as component 0 and every product unchanged at step 0', () => {
    const pred = initLidb(SMALL_LAYERS, 1, rng);
    for (const w of pred.layers.values()) w.uTrain.set(randomArray(w.uTrain.length, rng, 0.2));
    const relaxed = rankRelax(pred, 4, new LidbRng(5));
    expect(relaxed.rank).toBe(4);
    const before = lidbToSlots(pred, aux);
    const after = lidbToSlots(relaxed, aux);
    for (const l of SMALL_LAYERS) {
      const p = pred.layers.get(l.name)!;
      const q = relaxed.layers.get(l.name)!;
      for (let i = 0; i < q.a; i++) expect(q.dTrain[i * 4]).toBe(p.dTrain[i]);
      expect(Array.from(q.uTrain.subarray(0, q.b))).toEqual(Array.from(p.uTrain));
      expect(maxAbs(q.uTrain.subarray(q.b))).toBe(0);
      const fresh = Array.from(q.dTrain).filter((_, i) => i % 4 !== 0);
      expect(maxAbs(fresh)).toBeGreaterThan(0);
      expect(maxAbs(fresh)).toBeLessThan(7 * RELAX_STD);
      const b = before.get(l.name)!;
      const a = after.get(l.name)!;
      const w0 = matmul64(b.down, b.up, l.nIn, 1, l.nOut);
      const w1 = matmul64(a.down, a.up, l.nIn, 4, l.nOut);
      expect(maxAbsDiff(w0, w1)).toBeLessThan(1e-6);
    }
    expect(() => rankRelax(relaxed, 2, rng)).toThrow(RangeError);
  });

  it('lidbFromRows takes the hypernetwork rows, dropping the zero padding', () => {
    const aMax = 100;
    const bMax = 50;
    const down = randomArray(SMALL_LAYERS.length * aMax, rng);
    const up = randomArray(SMALL_LAYERS.length * bMax, rng);
    const lidb = lidbFromRows(SMALL_LAYERS, down, up, aMax, bMax);
    expect(lidb.rank).toBe(1);
    const w = lidb.layers.get(SMALL_LAYERS[1].name)!;
    expect(w.a).toBe(24);
    expect(Array.from(w.dTrain)).toEqual(Array.from(down.subarray(aMax, aMax + 24)));
    expect(Array.from(w.uTrain)).toEqual(Array.from(up.subarray(bMax, bMax + 32)));
    expect(lidbSize(zeroLidb(SMALL_LAYERS, 1))).toBe(SMALL_LAYERS.reduce((s, l) => s + auxDims(l).a + auxDims(l).b, 0));
  });
});
