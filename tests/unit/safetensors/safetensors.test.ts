import { describe, expect, it } from 'vitest';
import {
  encodeFloats, encodeInts, MAX_HEADER_BYTES, readSafetensors, SafetensorsError, toFloat32, toNumbers, writeSafetensors,
  type SafetensorsErrorCode,
} from '../../../src/safetensors';

/** A file from a header object and raw data, exactly as the spec lays it out. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), pad = 0): Uint8Array {
  const text = (typeof header === 'string' ? header : JSON.stringify(header)) + ' '.repeat(pad);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectCode(f: () => unknown, code: SafetensorsErrorCode): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).code).toBe(code);
    return e as SafetensorsError;
  }
  throw new Error(`expected a SafetensorsError ${code}, nothing was thrown`);
}

const f32 = (...v: number[]) => encodeFloats(v, 'F32');

describe('safetensors reader', () => {
  it('reads a file laid out by hand from the spec (header, trailing space padding, data)', () => {
    // {"a": F32 [2] = [1.5, -2], "b": I64 [] = 7}, metadata {"k": "v"}
    const data = new Uint8Array([...f32(1.5, -2), ...encodeInts([7], 'I64')]);
    const bytes = rawFile({ __metadata__: { k: 'v' }, b: { dtype: 'I64', shape: [], data_offsets: [8, 16] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data, 5);
    const file = readSafetensors(bytes);
    expect(file.metadata).toEqual({ k: 'v' });
    expect([...file.tensors.keys()]).toEqual(['b', 'a']);
    expect(Array.from(toFloat32(file.tensors.get('a')!))).toEqual([1.5, -2]);
    expect(toNumbers(file.tensors.get('b')!)).toEqual([7]);
    expect(file.tensors.get('b')!.shape).toEqual([]);
  });

  it('round-trips every float encoding and the integer types through the writer', () => {
    const values = [0, 1, -1, 0.1, 65504, 1e-5, -3.25];
    const bytes = writeSafetensors([
      { name: 'f32', dtype: 'F32', shape: [7], bytes: encodeFloats(values, 'F32') },
      { name: 'f16', dtype: 'F16', shape: [7], bytes: encodeFloats(values, 'F16') },
      { name: 'bf16', dtype: 'BF16', shape: [7, 1], bytes: encodeFloats(values, 'BF16') },
      { name: 'f64', dtype: 'F64', shape: [1, 7], bytes: encodeFloats(values, 'F64') },
      { name: 'i32', dtype: 'I32', shape: [3], bytes: encodeInts([-5, 0, 2 ** 31 - 1], 'I32') },
      { name: 'i64', dtype: 'I64', shape: [2], bytes: encodeInts([-(2 ** 40), 2 ** 52], 'I64') },
      { name: 'empty', dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
      { name: '__proto__', dtype: 'U8', shape: [1], bytes: new Uint8Array([9]) },
    ], { format: 'pt', note: 'ünïcode ✓' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0); // data starts 8-aligned like the reference writer
    const file = readSafetensors(bytes);
    expect(file.metadata.note).toBe('ünïcode ✓');
    const get = (k: string) => Array.from(toFloat32(file.tensors.get(k)!));
    expect(get('f32')).toEqual(Array.from(Float32Array.from(values)));
    expect(get('f64')).toEqual(Array.from(Float32Array.from(values)));
    get('f16').forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -11 + 2 ** -25));
    get('bf16').forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -8));
    expect(toNumbers(file.tensors.get('i32')!)).toEqual([-5, 0, 2 ** 31 - 1]);
    expect(toNumbers(file.tensors.get('i64')!)).toEqual([-(2 ** 40), 2 ** 52]);
    expect(file.tensors.get('empty')!.bytes.byteLength).toBe(0);
    expect(toNumbers(file.tensors.get('__proto__')!)).toEqual([9]);
  });

  it('refuses short files and impossible header lengths', () => {
    expectCode(() => readSafetensors(new Uint8Array(5)), 'truncated');
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    expectCode(() => readSafetensors(huge), 'header-too-large');
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    expectCode(() => readSafetensors(huge), 'header-too-large');
    new DataView(huge.buffer).setBigUint64(0, 100n, true);
    expectCode(() => readSafetensors(huge), 'truncated');
  });

  it('refuses headers that are not a UTF-8 JSON object', () => {
    const bad = rawFile('{}');
    bad[8 + 1] = 0xff; // '}' → invalid UTF-8
    expectCode(() => readSafetensors(bad), 'bad-header');
    expectCode(() => readSafetensors(rawFile('[]')), 'bad-header');
    expectCode(() => readSafetensors(rawFile(' {}')), 'bad-header'); // must begin with '{'
    expectCode(() => readSafetensors(rawFile('{"a":')), 'bad-header');
    expectCode(() => readSafetensors(rawFile('{} x')), 'bad-header');
    expectCode(() => readSafetensors(rawFile('{"a": 1}')), 'bad-header');
    expectCode(() => readSafetensors(rawFile('{' + '"a":['.repeat(200) + ']'.repeat(200) + '}')), 'bad-header');
  });

  it('refuses duplicate keys, which JSON.parse would silently resolve', () => {
    const t = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
    expectCode(() => readSafetensors(rawFile(`{"x":${t},"x":${t}}`, f32(1))), 'duplicate-key');
    expectCode(() => readSafetensors(rawFile(`{"__metadata__":{"k":"1","k":"2"}}`)), 'duplicate-key');
  });

  it('refuses metadata that is not an object of strings', () => {
    expectCode(() => readSafetensors(rawFile({ __metadata__: { n: 1 } })), 'bad-metadata');
    expectCode(() => readSafetensors(rawFile({ __metadata__: { n: { x: 'y' } } })), 'bad-metadata');
    expectCode(() => readSafetensors(rawFile({ __metadata__: ['a'] })), 'bad-metadata');
    expect(readSafetensors(rawFile({ __metadata__: null })).metadata).toEqual({});
  });

  it('checks dtype, shape and byte length against each other', () => {
    const entry = (o: object) => rawFile({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...o } }, f32(1, 2));
    expectCode(() => readSafetensors(entry({ dtype: 'F33' })), 'bad-dtype');
    expectCode(() => readSafetensors(entry({ dtype: 4 })), 'bad-dtype');
    expectCode(() => readSafetensors(entry({ shape: [3] })), 'bad-shape');
    expectCode(() => readSafetensors(entry({ shape: [-2] })), 'bad-shape');
    expectCode(() => readSafetensors(entry({ shape: [2.5] })), 'bad-shape');
    expectCode(() => readSafetensors(entry({ shape: '2' })), 'bad-shape');
    expectCode(() => readSafetensors(entry({ shape: [2 ** 40, 2 ** 40, 2 ** 40] })), 'bad-shape');
    expectCode(() => readSafetensors(entry({ dtype: 'F16' })), 'bad-shape');
    expectCode(() => readSafetensors(entry({ data_offsets: [0] })), 'bad-offsets');
    expectCode(() => readSafetensors(entry({ data_offsets: [8, 0] })), 'bad-offsets');
    expectCode(() => readSafetensors(entry({ data_offsets: [0, 1e300] })), 'bad-offsets');
  });

  it('requires the offsets to tile the data exactly: no overlap, no hole, nothing left over', () => {
    const two = (a: [number, number], b: [number, number], data = f32(1, 2)) =>
      rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: a }, b: { dtype: 'F32', shape: [1], data_offsets: b } }, data);
    expect(readSafetensors(two([4, 8], [0, 4])).tensors.size).toBe(2); // any order is fine
    expectCode(() => readSafetensors(two([0, 4], [0, 4])), 'bad-offsets'); // overlap
    expectCode(() => readSafetensors(two([0, 4], [8, 12], f32(1, 2, 3))), 'bad-offsets'); // hole
    expectCode(() => readSafetensors(two([4, 8], [8, 12], f32(1, 2, 3))), 'bad-offsets'); // not from 0
    expectCode(() => readSafetensors(two([0, 4], [4, 8], f32(1, 2, 3))), 'bad-offsets'); // unindexed tail
    expectCode(() => readSafetensors(two([0, 4], [4, 8], f32(1))), 'truncated'); // data cut short
  });

  it('the writer refuses data that disagrees with its declaration', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], bytes: f32(1, 2) }])).toThrow(SafetensorsError);
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], bytes: f32(1) }, { name: 'x', dtype: 'F32', shape: [1], bytes: f32(1) }])).toThrow(SafetensorsError);
    expect(() => writeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [1], bytes: f32(1) }])).toThrow(SafetensorsError);
  });
});
