import { describe, expect, it } from 'vitest';
import {
  initLidb, LIDB_FORMAT, LidbFileError, LidbRng, lidbSize, readLidbFile, sd15LoraLayers, writeLidbFile,
  type Lidb, type LidbFileErrorCode, type LidbMeta,
} from '../../../src/lidb';
import { encodeFloats, readSafetensors, writeSafetensors, type TensorToWrite } from '../../../src/safetensors';
import { AUX_SHA, maxAbsDiff, randomArray, SMALL_LAYERS } from './helpers';

const META: LidbMeta = {
  packId: 'tiny',
  auxSha256: AUX_SHA,
  trigger: 'sks',
  fineTune: { steps: 40, learningRate: 1e-3, rank: 3, optimizer: 'adam' },
  seed: 42,
  name: 'Ada ✓',
};
const EXPECTED = { packId: 'tiny', auxSha256: AUX_SHA, layers: SMALL_LAYERS };

function sampleLidb(rank = 3, layers = SMALL_LAYERS): Lidb {
  const rng = new LidbRng(3);
  const lidb = initLidb(layers, rank, rng);
  for (const w of lidb.layers.values()) w.uTrain.set(randomArray(w.uTrain.length, rng, 0.1));
  return lidb;
}

function codeOf(f: () => unknown): LidbFileErrorCode | 'none' {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LidbFileError);
    return (e as LidbFileError).code;
  }
  return 'none';
}

/** Rewrites a LiDB file with its tensors and metadata edited. */
function edit(bytes: Uint8Array, f: (tensors: TensorToWrite[], md: Record<string, string>) => void): Uint8Array {
  const file = readSafetensors(bytes);
  const tensors = [...file.tensors.values()].map((t) => ({ ...t, bytes: t.bytes.slice() }));
  const md = { ...file.metadata };
  f(tensors, md);
  return writeSafetensors(tensors, md);
}

describe('LiDB file', () => {
  it('round-trips fp32 exactly, with its metadata', () => {
    const lidb = sampleLidb();
    const bytes = writeLidbFile(lidb, META);
    const { lidb: back, meta } = readLidbFile(bytes, EXPECTED);
    expect(back.rank).toBe(3);
    expect([...back.layers.keys()]).toEqual(SMALL_LAYERS.map((l) => l.name));
    for (const [name, w] of lidb.layers) {
      expect(back.layers.get(name)!.dTrain).toEqual(w.dTrain);
      expect(back.layers.get(name)!.uTrain).toEqual(w.uTrain);
    }
    expect(meta).toEqual({ ...META, rank: 3 });
    const md = readSafetensors(bytes).metadata;
    expect(md.format).toBe(LIDB_FORMAT);
    expect(md.a).toBe(JSON.stringify({ ...Object.fromEntries(SMALL_LAYERS.map((l) => [l.name, Math.min(100, l.nIn)])) }));
    expect(readSafetensors(bytes).tensors.get(`${SMALL_LAYERS[3].name}.down`)!.shape).toEqual([100, 3]);
    expect(readSafetensors(bytes).tensors.get(`${SMALL_LAYERS[3].name}.up`)!.shape).toEqual([3, 50]);
  });

  it('round-trips fp16 within half precision', () => {
    const lidb = sampleLidb();
    const bytes = writeLidbFile(lidb, META, { dtype: 'F16' });
    expect(readSafetensors(bytes).tensors.get(`${SMALL_LAYERS[0].name}.down`)!.dtype).toBe('F16');
    const { lidb: back } = readLidbFile(bytes, EXPECTED);
    for (const [name, w] of lidb.layers) {
      const b = back.layers.get(name)!;
      for (const [x, y] of [[w.dTrain, b.dTrain], [w.uTrain, b.uTrain]]) {
        for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -11 + 2 ** -24);
      }
      expect(maxAbsDiff(w.dTrain, b.dTrain)).toBeGreaterThan(0); // really stored as halves
    }
  });

  it('holds 26,400 numbers (105,600 bytes fp32) for SD1.5 at rank 1', () => {
    const layers = sd15LoraLayers();
    const lidb = sampleLidb(1, layers);
    expect(lidbSize(lidb)).toBe(26_400);
    const bytes = writeLidbFile(lidb, { ...META, packId: 'sd15' });
    const file = readSafetensors(bytes);
    const tensorBytes = [...file.tensors.values()].reduce((s, t) => s + t.bytes.byteLength, 0);
    expect(tensorBytes).toBe(105_600);
    const header = bytes.byteLength - tensorBytes;
    // the header is 8 + JSON: 352 entries of ~120 characters each plus the metadata
    expect(header).toBeLessThan(352 * 140 + 1024);
    const fp16 = writeLidbFile(lidb, { ...META, packId: 'sd15' }, { dtype: 'F16' });
    console.log(`SD1.5 LiDB rank 1: ${lidbSize(lidb)} numbers; fp32 file ${bytes.byteLength} bytes (tensors ${tensorBytes}, header ${header}); fp16 file ${fp16.byteLength} bytes`);
    expect(readLidbFile(bytes, { packId: 'sd15', auxSha256: AUX_SHA, layers }).lidb.layers.size).toBe(176);
  });

  it('says exactly why a file does not fit the active pack', () => {
    const bytes = writeLidbFile(sampleLidb(), META);
    const other = (e: Partial<typeof EXPECTED>) => codeOf(() => readLidbFile(bytes, { ...EXPECTED, ...e }));
    expect(other({ packId: 'sd15' })).toBe('wrong-pack');
    expect(() => readLidbFile(bytes, { ...EXPECTED, packId: 'sd15' })).toThrow(/made for model pack "tiny", the active pack is "sd15"/);
    expect(other({ auxSha256: 'cd'.repeat(32) })).toBe('aux-mismatch');
    expect(other({ layers: SMALL_LAYERS.slice(1) })).toBe('extra-layer');
    expect(other({ layers: [...SMALL_LAYERS, { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', target: 'unet', nIn: 64, nOut: 64 }] })).toBe('missing-layer');
    expect(other({ layers: SMALL_LAYERS.map((l, i) => (i === 0 ? { ...l, nIn: 16 } : l)) })).toBe('bad-shape');
  });

  it('refuses malformed contents with typed errors', () => {
    const bytes = writeLidbFile(sampleLidb(), META);
    const name = `${SMALL_LAYERS[2].name}.up`;
    expect(codeOf(() => readLidbFile(edit(bytes, (_, md) => { md.format = 'hyperbooth-lidb/2'; }), EXPECTED))).toBe('wrong-format');
    expect(codeOf(() => readLidbFile(edit(bytes, (_, md) => { delete md.format; }), EXPECTED))).toBe('wrong-format');
    expect(codeOf(() => readLidbFile(edit(bytes, (_, md) => { md.rank = '2'; }), EXPECTED))).toBe('bad-shape');
    expect(codeOf(() => readLidbFile(edit(bytes, (_, md) => { md.rank = 'three'; }), EXPECTED))).toBe('bad-metadata');
    expect(codeOf(() => readLidbFile(edit(bytes, (_, md) => { md.fine_tune = '{"steps": 40,'; }), EXPECTED))).toBe('bad-metadata');
    expect(codeOf(() => readLidbFile(edit(bytes, (_, md) => { md.seed = '-1'; }), EXPECTED))).toBe('bad-metadata');
    expect(codeOf(() => readLidbFile(edit(bytes, (_, md) => { md.a = '100'; }), EXPECTED))).toBe('bad-shape');
    expect(codeOf(() => readLidbFile(edit(bytes, (t) => {
      const i = t.findIndex((x) => x.name === name);
      const v = new Float32Array(t[i].bytes.slice().buffer);
      v[5] = NaN;
      t[i].bytes = new Uint8Array(v.buffer);
    }), EXPECTED))).toBe('non-finite');
    expect(codeOf(() => readLidbFile(edit(bytes, (t) => {
      const i = t.findIndex((x) => x.name === name);
      t[i] = { ...t[i], dtype: 'I32' };
    }), EXPECTED))).toBe('bad-dtype');
    expect(codeOf(() => readLidbFile(edit(bytes, (t) => {
      const i = t.findIndex((x) => x.name === name);
      t[i] = { ...t[i], shape: [t[i].shape[1], t[i].shape[0]] };
    }), EXPECTED))).toBe('bad-shape');
    expect(codeOf(() => readLidbFile(edit(bytes, (t) => {
      t.push({ name: 'foo.down', dtype: 'F32', shape: [1], bytes: encodeFloats([1], 'F32') });
    }), EXPECTED))).toBe('extra-layer');
    expect(codeOf(() => readLidbFile(bytes.subarray(0, 100), EXPECTED))).toBe('truncated');
    expect(codeOf(() => readLidbFile(bytes.subarray(0, bytes.length - 3), EXPECTED))).toBe('truncated');
  });
});
