// Personal weights = LiDB + full-space residual: the concatenated slots mean the sum of both
// products, the residual's gradient is its share of the slot gradient, the format-2 file holds
// both compactly (SD1.5 sizes measured here), format-1 files still load, and kohya/PEFT exports
// of the merged weights are exact.
import { describe, expect, it } from 'vitest';
import {
  concatSlots, importLora, initLidb, initResidual, LidbFileError, LidbRng, makeAuxBases, personalSlots, personalToLoraFile,
  readPersonalFile, residualGrad, residualSize, sd15LoraLayers, writeLidbFile, writePersonalFile, type PersonalWeights,
} from '../../../src/lidb';
import { readSafetensors, writeSafetensors } from '../../../src/safetensors';
import { toFloat32 } from '../../../src/safetensors/decode';
import type { LoraLayer } from '../../../src/packs/manifest';

const LAYERS: LoraLayer[] = [
  { name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', target: 'unet', nIn: 12, nOut: 8 },
  { name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', target: 'unet', nIn: 6, nOut: 8 },
  { name: 'text_model.encoder.layers.0.self_attn.q_proj', target: 'text_encoder', nIn: 10, nOut: 10 },
];
const AUX = makeAuxBases(LAYERS, 3);
const SHA = 'a'.repeat(64);
const META = { packId: 'p', auxSha256: SHA, trigger: 'sks', fineTune: { steps: 2 }, seed: 5, name: 'Ann' };
const EXPECT = { packId: 'p', auxSha256: SHA, layers: LAYERS };

/** Personal weights with every factor non-zero, so no product vanishes by construction. */
function weights(seed: number, residualRank = 3): PersonalWeights {
  const rng = new LidbRng(seed, 'test');
  const lidb = initLidb(LAYERS, 1, rng);
  for (const w of lidb.layers.values()) for (let i = 0; i < w.uTrain.length; i++) w.uTrain[i] = rng.normal();
  const residual = initResidual(LAYERS, residualRank, rng);
  for (const r of residual.layers.values()) for (let i = 0; i < r.up.length; i++) r.up[i] = rng.normal();
  return { lidb, residual };
}

const product = (down: Float32Array, up: Float32Array, rank: number, nIn: number, nOut: number) => {
  const out = new Float64Array(nIn * nOut);
  for (let i = 0; i < nIn; i++) for (let k = 0; k < rank; k++) for (let j = 0; j < nOut; j++) out[i * nOut + j] += down[i * rank + k] * up[k * nOut + j];
  return out;
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

describe('slots of LiDB + residual', () => {
  it('a concatenated slot multiplies out to the sum of the two products', () => {
    const w = weights(1);
    const lidbOnly = personalSlots({ lidb: w.lidb }, AUX, LAYERS);
    const both = personalSlots(w, AUX, LAYERS);
    for (const l of LAYERS) {
      const a = lidbOnly.get(l.name)!;
      const r = w.residual!.layers.get(l.name)!;
      const c = both.get(l.name)!;
      expect(c.rank).toBe(1 + 3);
      const sum = product(a.down, a.up, 1, l.nIn, l.nOut).map((v, i) => v + product(r.down, r.up, 3, l.nIn, l.nOut)[i]);
      expect(maxDiff(product(c.down, c.up, 4, l.nIn, l.nOut), sum), l.name).toBeLessThan(1e-5);
    }
  });

  it('a fresh residual adds nothing yet (B = 0) but its A is not zero, so it trains', () => {
    const r = initResidual(LAYERS, 4, new LidbRng(9, 'r'));
    for (const l of LAYERS) {
      const x = r.layers.get(l.name)!;
      expect(x.up.every((v) => v === 0)).toBe(true);
      expect(x.down.some((v) => v !== 0)).toBe(true);
    }
    expect(residualSize(r)).toBe(LAYERS.reduce((n, l) => n + (l.nIn + l.nOut) * 4, 0));
  });

  it("the residual's gradient is the slot gradient's columns and rows past the LiDB's rank", () => {
    const nIn = 3, nOut = 2, offset = 1, rank = 2, total = 3;
    const down = Float32Array.from({ length: nIn * total }, (_, i) => i);
    const up = Float32Array.from({ length: total * nOut }, (_, i) => 100 + i);
    const g = residualGrad({ down, up }, nIn, nOut, offset, rank);
    expect(Array.from(g.down)).toEqual([1, 2, 4, 5, 7, 8]);
    expect(Array.from(g.up)).toEqual([102, 103, 104, 105]);
    expect(() => residualGrad({ down, up }, nIn, nOut, offset, 3)).toThrow(/slot gradient/);
  });

  it('concatSlots keeps each part in its own columns', () => {
    const c = concatSlots({ rank: 1, down: Float32Array.of(1, 2), up: Float32Array.of(3) }, { rank: 2, down: Float32Array.of(4, 5, 6, 7), up: Float32Array.of(8, 9) }, 2);
    expect(Array.from(c.down)).toEqual([1, 4, 5, 2, 6, 7]);
    expect(Array.from(c.up)).toEqual([3, 8, 9]);
  });
});

describe('the personal file, format 2', () => {
  it('round-trips the LiDB and the residual exactly (F32), with the metadata', () => {
    const w = weights(2);
    const { weights: back, meta } = readPersonalFile(writePersonalFile(w, META), EXPECT);
    expect(meta).toMatchObject({ formatVersion: 2, rank: 1, residualRank: 3, packId: 'p', trigger: 'sks', seed: 5, name: 'Ann', fineTune: { steps: 2 } });
    for (const l of LAYERS) {
      const a = w.lidb.layers.get(l.name)!, b = back.lidb.layers.get(l.name)!;
      expect(Array.from(b.dTrain)).toEqual(Array.from(a.dTrain));
      expect(Array.from(b.uTrain)).toEqual(Array.from(a.uTrain));
      expect(Array.from(back.residual!.layers.get(l.name)!.down)).toEqual(Array.from(w.residual!.layers.get(l.name)!.down));
      expect(Array.from(back.residual!.layers.get(l.name)!.up)).toEqual(Array.from(w.residual!.layers.get(l.name)!.up));
    }
  });

  it('without a residual it is a plain LiDB; F16 keeps values to half precision', () => {
    const w = weights(3);
    const { weights: back, meta } = readPersonalFile(writePersonalFile({ lidb: w.lidb }, META, { dtype: 'F16' }), EXPECT);
    expect(back.residual).toBeUndefined();
    expect(meta.residualRank).toBeUndefined();
    const a = w.lidb.layers.get(LAYERS[0].name)!.dTrain, b = back.lidb.layers.get(LAYERS[0].name)!.dTrain;
    expect(maxDiff(a, b)).toBeLessThan(2e-3 * Math.max(...Array.from(a, Math.abs)));
  });

  it('format-1 files (per-layer tensors) still load, as a LiDB without residual', () => {
    const w = weights(4);
    const { weights: back, meta } = readPersonalFile(writeLidbFile(w.lidb, META), EXPECT);
    expect(meta.formatVersion).toBe(1);
    expect(back.residual).toBeUndefined();
    expect(Array.from(back.lidb.layers.get(LAYERS[2].name)!.uTrain)).toEqual(Array.from(w.lidb.layers.get(LAYERS[2].name)!.uTrain));
  });

  it('refuses files that do not fit the pack, each with its reason', () => {
    const good = writePersonalFile(weights(5), META);
    const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { expect(e).toBeInstanceOf(LidbFileError); return (e as LidbFileError).code; } };
    expect(code(() => readPersonalFile(good, { ...EXPECT, packId: 'q' }))).toBe('wrong-pack');
    expect(code(() => readPersonalFile(good, { ...EXPECT, auxSha256: 'b'.repeat(64) }))).toBe('aux-mismatch');
    expect(code(() => readPersonalFile(good, { ...EXPECT, layers: LAYERS.slice(0, 2) }))).toBe('missing-layer');
    // the same file with its tensors or metadata edited
    const edit = (f: (t: Map<string, { dtype: string; shape: number[]; data: Float32Array }>, md: Record<string, string>) => void) => {
      const file = readSafetensors(good);
      const tensors = new Map([...file.tensors].map(([n, t]) => [n, { dtype: t.dtype as string, shape: [...t.shape], data: toFloat32(t) }]));
      const md = { ...file.metadata };
      f(tensors, md);
      return writeSafetensors([...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) })), md);
    };
    expect(code(() => readPersonalFile(edit((t) => { t.get('d_train')!.data[0] = Number.NaN; }), EXPECT))).toBe('non-finite');
    expect(code(() => readPersonalFile(edit((t) => { const x = t.get('u_train')!; x.data = x.data.slice(1); x.shape = [x.data.length]; }), EXPECT))).toBe('bad-shape');
    expect(code(() => readPersonalFile(edit((_t, md) => { delete md.residual_rank; }), EXPECT))).toBe('bad-metadata');
    expect(code(() => readPersonalFile(edit((_t, md) => { md.residual_rank = '65'; }), EXPECT))).toBe('bad-metadata');
    expect(code(() => readPersonalFile(edit((t) => { t.set('extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) }); }), EXPECT))).toBe('extra-layer');
    expect(code(() => readPersonalFile(edit((t) => { t.delete('residual_up'); }), EXPECT))).toBe('missing-layer');
    expect(code(() => readPersonalFile(edit((_t, md) => { md.format = 'something/9'; }), EXPECT))).toBe('wrong-format');
  });

  it('SD1.5: a rank-1 LiDB is ≤ 120 KB in fp32 and ≤ 60 KB in fp16; the rank-4 residual is reported', () => {
    const layers = sd15LoraLayers();
    const lidb = initLidb(layers, 1, new LidbRng(1, 'sd15'));
    const sizes = {
      fp32: writePersonalFile({ lidb }, META).length,
      fp16: writePersonalFile({ lidb }, META, { dtype: 'F16' }).length,
      format1fp32: writeLidbFile(lidb, META).length,
      residualFp32: writePersonalFile({ lidb, residual: initResidual(layers, 4, new LidbRng(1, 'r')) }, META).length,
    };
    console.log(`SD1.5 personal file sizes (bytes): ${JSON.stringify(sizes)}`);
    expect(sizes.fp32).toBeLessThanOrEqual(120_000);
    expect(sizes.fp16).toBeLessThanOrEqual(60_000);
    expect(sizes.fp32).toBeLessThan(sizes.format1fp32);
  });
});

describe('kohya / PEFT export of LiDB + residual', () => {
  it('imports back to exactly the slots HyperBooth feeds', () => {
    const w = weights(6);
    const slots = personalSlots(w, AUX, LAYERS);
    for (const format of ['kohya', 'peft'] as const) {
      const imported = importLora(personalToLoraFile(w, AUX, LAYERS, format), LAYERS);
      expect(imported.slots.size).toBe(LAYERS.length);
      for (const [name, s] of slots) {
        const got = imported.slots.get(name)!;
        expect(got.rank, name).toBe(s.rank);
        expect(maxDiff(got.down, s.down), `${format} ${name} down`).toBe(0);
        expect(maxDiff(got.up, s.up), `${format} ${name} up`).toBe(0);
      }
    }
  });
});
