// Non-finite weights after scaling: every stored value can be finite and the weights the app
// uses still overflow (kohya alpha 3e38, a huge strength or PEFT alpha, a LiDB whose slot
// product overflows, aux bases that are not orthonormal). Each is refused, naming the tensor.
import { describe, expect, it } from 'vitest';
import {
  importLora, initLidb, kohyaModuleName, LidbFileError, LidbRng, lidbToSlots, LoraFileError, makeAuxBases, peftModuleName,
  readAuxFile, readLidbFile, writeAuxFile, writeLidbFile,
} from '../../../src/lidb';
import { LIDB_MAX_ABS } from '../../../src/lidb/file';
import { encodeFloats, writeSafetensors, type TensorToWrite } from '../../../src/safetensors';
import { thrownBy } from '../thrownBy';
import { AUX_SHA, SMALL_LAYERS } from './helpers';

const l = SMALL_LAYERS[0];
const f32 = (values: ArrayLike<number>) => encodeFloats(values, 'F32');

function kohya(alpha: number, down = 0.5, dtype: 'F32' | 'F16' = 'F32'): Uint8Array {
  const k = kohyaModuleName(l);
  return writeSafetensors([
    { name: `${k}.alpha`, dtype, shape: [], bytes: encodeFloats([alpha], dtype) },
    { name: `${k}.lora_down.weight`, dtype, shape: [2, l.nIn], bytes: encodeFloats(new Float32Array(2 * l.nIn).fill(down), dtype) },
    { name: `${k}.lora_up.weight`, dtype, shape: [l.nOut, 2], bytes: encodeFloats(new Float32Array(2 * l.nOut).fill(0.5), dtype) },
  ]);
}

const loraError = (f: () => unknown) => thrownBy(LoraFileError, f);

describe('kohya and PEFT LoRAs', () => {
  it('alpha 3e38 (finite as stored) is refused after scaling, naming the tensor, instead of importing as Infinity', () => {
    const err = loraError(() => importLora(kohya(3e38, 4), SMALL_LAYERS));
    expect(err.code).toBe('non-finite');
    expect(err.message).toBe(`${kohyaModuleName(l)}.lora_down.weight × alpha/rank ${Math.fround(3e38)}/2 holds Infinity at index 0`);
  });

  it('the same file with a sane alpha imports, with every value finite and scaled by alpha/rank', () => {
    const imp = importLora(kohya(4), SMALL_LAYERS);
    const down = imp.slots.get(l.name)!.down;
    expect(down.every((v) => v === 1)).toBe(true); // 0.5 × 4/2
  });

  it('a strength that overflows, and a PEFT alpha that does, are refused the same way', () => {
    expect(loraError(() => importLora(kohya(2), SMALL_LAYERS, { strength: 1e39 })).message).toMatch(/× strength 1e\+39 holds Infinity/);
    const p = peftModuleName(l);
    const peft = writeSafetensors([
      { name: `${p}.lora_A.weight`, dtype: 'F32', shape: [2, l.nIn], bytes: f32(new Float32Array(2 * l.nIn).fill(1e30)) },
      { name: `${p}.lora_B.weight`, dtype: 'F32', shape: [l.nOut, 2], bytes: f32(new Float32Array(2 * l.nOut).fill(1)) },
    ] satisfies TensorToWrite[]);
    expect(importLora(peft, SMALL_LAYERS).slots.get(l.name)!.down[0]).toBeCloseTo(1e30, -25);
    expect(loraError(() => importLora(peft, SMALL_LAYERS, { peftAlpha: 1e10 })).message).toMatch(new RegExp(`^${p.replace(/\./g, '\\.')}\\.lora_A\\.weight × alpha/rank 10000000000/2 holds Infinity`));
  });
});

describe('LiDB and aux files', () => {
  const aux = makeAuxBases(SMALL_LAYERS, 3);
  const meta = { packId: 'tiny', auxSha256: AUX_SHA, trigger: 'sks', fineTune: {}, seed: 1 };
  const expected = { packId: 'tiny', auxSha256: AUX_SHA, layers: SMALL_LAYERS };

  it('a LiDB value whose slot would overflow is refused, naming the tensor; the bound keeps every accepted LiDB finite', () => {
    const lidb = initLidb(SMALL_LAYERS, 2, new LidbRng(4));
    const w = lidb.layers.get(l.name)!;
    w.dTrain.fill(3e38);
    const err = thrownBy(LidbFileError, () => readLidbFile(writeLidbFile(lidb, meta), expected));
    expect(err.code).toBe('non-finite');
    expect(err.message).toMatch(new RegExp(`^${l.name.replace(/\./g, '\\.')}\\.down holds 3\\.0\\d+e\\+38 at index 0, beyond ±1e\\+30: its slot \\(aux bases × this\\) would overflow float32$`));
    // at the bound, with every aux entry at its bound of 2, the slot is still finite
    w.dTrain.fill(Math.fround(LIDB_MAX_ABS) > LIDB_MAX_ABS ? Math.fround(LIDB_MAX_ABS * 0.999) : Math.fround(LIDB_MAX_ABS));
    const { lidb: read } = readLidbFile(writeLidbFile(lidb, meta), expected);
    const worst = { ...aux, bases: new Map([...aux.bases].map(([n, b]) => [n, { ...b, dAux: b.dAux.map(() => 2) }])) };
    const slot = lidbToSlots(read, worst).get(l.name)!;
    expect(slot.down.every(Number.isFinite)).toBe(true);
  });

  it('aux bases with an entry above 2 (not orthonormal) are refused, naming the tensor', () => {
    const bad = { ...aux, bases: new Map([...aux.bases].map(([n, b]) => [n, n === l.name ? { ...b, uAux: b.uAux.map((v, i) => (i === 7 ? 1e20 : v)) } : b])) };
    const err = thrownBy(LidbFileError, () => readAuxFile(writeAuxFile(bad), SMALL_LAYERS));
    expect(err.code).toBe('non-finite');
    expect(err.message).toMatch(/^aux file: down_blocks\.\S+\.u_aux holds 1000000020\d+ at index 7, beyond ±2: the bases are orthonormal/);
    expect(() => readAuxFile(writeAuxFile(aux), SMALL_LAYERS)).not.toThrow();
    expect(() => readAuxFile(writeAuxFile(aux, { dtype: 'F16' }), SMALL_LAYERS)).not.toThrow();
  });
});
