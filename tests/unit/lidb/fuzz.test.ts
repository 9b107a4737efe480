// Malformed LiDB and LoRA files, made deterministically from valid ones: every one must be
// refused with a typed error (LidbFileError / LoraFileError carrying a code), never anything
// else, and the whole run must stay fast (no pathological parsing).
import { describe, expect, it } from 'vitest';
import {
  initLidb, importLora, LidbFileError, LidbRng, lidbToLoraFile, LoraFileError, makeAuxBases, readLidbFile, writeLidbFile,
} from '../../../src/lidb';
import { AUX_SHA, randomArray, SMALL_LAYERS } from './helpers';

const LAYERS = SMALL_LAYERS;
const aux = makeAuxBases(LAYERS, 21);
const lidb = initLidb(LAYERS, 2, new LidbRng(22));
for (const w of lidb.layers.values()) w.uTrain.set(randomArray(w.uTrain.length, new LidbRng(23), 0.1));
const EXPECTED = { packId: 'tiny', auxSha256: AUX_SHA, layers: LAYERS };

const LIDB_CODES = new Set([
  'truncated', 'header-too-large', 'bad-header', 'duplicate-key', 'bad-metadata', 'bad-dtype', 'bad-shape', 'bad-offsets',
  'wrong-format', 'wrong-pack', 'aux-mismatch', 'missing-layer', 'extra-layer', 'non-finite',
]);
const LORA_CODES = new Set([
  'truncated', 'header-too-large', 'bad-header', 'duplicate-key', 'bad-metadata', 'bad-dtype', 'bad-shape', 'bad-offsets',
  'unknown-layer', 'shape-mismatch', 'rank-mismatch', 'missing-tensor', 'duplicate-layer', 'non-finite', 'no-known-layers',
]);

interface Source {
  kind: 'lidb' | 'kohya' | 'peft';
  bytes: Uint8Array;
  read: (b: Uint8Array) => unknown;
  errorType: typeof LidbFileError | typeof LoraFileError;
  codes: Set<string>;
}

const sources: Source[] = [
  {
    kind: 'lidb',
    bytes: writeLidbFile(lidb, { packId: 'tiny', auxSha256: AUX_SHA, trigger: 'sks', fineTune: { steps: 40 }, seed: 7 }),
    read: (b) => readLidbFile(b, EXPECTED),
    errorType: LidbFileError,
    codes: LIDB_CODES,
  },
  ...(['kohya', 'peft'] as const).map((f): Source => ({
    kind: f,
    bytes: lidbToLoraFile(lidb, aux, LAYERS, f),
    read: (b) => importLora(b, LAYERS),
    errorType: LoraFileError,
    codes: LORA_CODES,
  })),
];

interface Parts { header: Record<string, any>; text: string; data: Uint8Array }

function split(bytes: Uint8Array): Parts {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return { header: JSON.parse(text), text, data: bytes.slice(8 + n) };
}

function assemble(header: string | Uint8Array, data: Uint8Array, claimedLength?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const tensorNames = (p: Parts) => Object.keys(p.header).filter((k) => k !== '__metadata__');
/** tensors whose loss or damage must be noticed (a LoRA's alpha may be absent) */
const weightNames = (p: Parts) => tensorNames(p).filter((k) => !k.endsWith('.alpha'));

type Mutation = (src: Source, rng: LidbRng) => Uint8Array;
const pick = <T>(xs: readonly T[], rng: LidbRng): T => xs[Math.floor(rng.uniform() * xs.length)];
const int = (lo: number, hi: number, rng: LidbRng) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
const withHeader = (p: Parts, f: (h: Record<string, any>) => void, data = p.data) => {
  const h = structuredClone(p.header);
  f(h);
  return assemble(JSON.stringify(h), data);
};

const mutations: Record<string, Mutation> = {
  truncated: (s, rng) => s.bytes.slice(0, int(0, s.bytes.length - 1, rng)),
  hugeHeaderLength: (s, rng) => {
    const out = s.bytes.slice();
    const n = pick([100_000_001n, 2n ** 32n, 2n ** 63n + BigInt(int(0, 1e6, rng)), 2n ** 64n - 1n, BigInt(int(100_000_001, 2 ** 31, rng))], rng);
    new DataView(out.buffer).setBigUint64(0, n, true);
    return out;
  },
  headerLengthBeyondFile: (s, rng) => {
    const out = s.bytes.slice();
    new DataView(out.buffer).setBigUint64(0, BigInt(int(s.bytes.length - 7, 100_000_000, rng)), true);
    return out;
  },
  headerLengthShort: (s, rng) => {
    const out = s.bytes.slice();
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    new DataView(out.buffer).setBigUint64(0, BigInt(int(0, n - 1, rng)), true);
    return out;
  },
  offsetsOutOfRange: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      const t = h[pick(tensorNames(p), rng)];
      t.data_offsets[1] += pick([1, 4, int(5, 1e6, rng), 2 ** 53], rng);
    });
  },
  offsetsOverlapping: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      const names = tensorNames(p).filter((k) => h[k].data_offsets[0] > 0);
      const t = h[pick(names, rng)];
      const k = Math.min(t.data_offsets[0], pick([1, 2, 4, int(1, 64, rng)], rng));
      t.data_offsets = [t.data_offsets[0] - k, t.data_offsets[1] - k];
    });
  },
  offsetsWithHole: (s, rng) => {
    const p = split(s.bytes);
    const gap = int(1, 32, rng);
    const cut = pick(tensorNames(p).map((k) => p.header[k].data_offsets[0]), rng);
    const data = new Uint8Array(p.data.length + gap);
    data.set(p.data.subarray(0, cut));
    data.set(p.data.subarray(cut), cut + gap);
    return withHeader(p, (h) => {
      for (const k of tensorNames(p)) if (h[k].data_offsets[0] >= cut) h[k].data_offsets = h[k].data_offsets.map((o: number) => o + gap);
    }, data);
  },
  trailingBytes: (s, rng) => {
    const p = split(s.bytes);
    const data = new Uint8Array(p.data.length + int(1, 100, rng));
    data.set(p.data);
    return assemble(p.text, data);
  },
  offsetsNotAPair: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      h[pick(tensorNames(p), rng)].data_offsets = pick([[0], [0, 4, 8], ['0', '4'], [-4, 0], [4, 0], null, 'x', [0.5, 4]], rng);
    });
  },
  wrongDtype: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      h[pick(weightNames(p), rng)].dtype = pick(['f32', 'F32 ', 'FLOAT', 'F4', 'F6_E2M3', '', 'I32', 'U32', 'F16', 'F64', 'BOOL', 'Q4_0', 32, null, ['F32']], rng);
    });
  },
  wrongShape: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      const t = h[pick(weightNames(p), rng)];
      const [r, c] = t.shape;
      t.shape = pick([[c, r], [r, c + 1], [r * c], [r, c, 1], [], [r + 1, c], [-r, -c], [r, c / 2 + 0.5], [2 ** 60, 2 ** 60], [r, '24'], 'r,c', null], rng);
    });
  },
  nonFinite: (s, rng) => {
    const p = split(s.bytes);
    const name = pick(tensorNames(p), rng);
    const [b, e] = p.header[name].data_offsets;
    const data = p.data.slice();
    const at = b + 4 * int(0, (e - b) / 4 - 1, rng);
    new DataView(data.buffer).setFloat32(at, pick([NaN, Infinity, -Infinity], rng), true);
    return assemble(p.text, data);
  },
  invalidJson: (s, rng) => {
    const p = split(s.bytes);
    const text = p.text.trimEnd();
    if (rng.uniform() < 0.5) return assemble(text.slice(0, int(1, text.length - 1, rng)), p.data);
    const structural = [...text].flatMap((c, i) => ('{}[]:,"'.includes(c) ? [i] : []));
    const i = pick(structural, rng);
    return assemble(text.slice(0, i) + text.slice(i + 1), p.data);
  },
  nonObjectHeader: (s, rng) => assemble(pick(['[]', '"header"', '42', 'null', 'true', '[{"a":1}]', ' {}', '\u00a0{}', '', '{]'], rng), split(s.bytes).data),
  metadataNotStrings: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      const v = pick([1, 2.5, null, true, [], ['x'], { a: 'b' }], rng);
      if (rng.uniform() < 0.2) h.__metadata__ = pick([[], 'meta', 3, [['a', 'b']]], rng);
      else {
        h.__metadata__ ??= {};
        h.__metadata__[pick([...Object.keys(h.__metadata__), 'extra'], rng)] = v;
      }
    });
  },
  invalidUtf8: (s, rng) => {
    const p = split(s.bytes);
    const h = new TextEncoder().encode(p.text);
    const junk = pick([[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]], rng);
    const at = int(1, h.length - 1, rng);
    return assemble(new Uint8Array([...h.subarray(0, at), ...junk, ...h.subarray(at)]), p.data);
  },
  unicodeNames: (s, rng) => {
    const p = split(s.bytes);
    const name = pick(weightNames(p), rng);
    const junk = pick(['\u202e', '\u200b', '😀', 'ａ', '\u0000', 'é', '\ufeff', '\ud800'], rng);
    const h: Record<string, any> = {};
    for (const [k, v] of Object.entries(p.header)) h[k === name ? junk + name : k] = v;
    return assemble(JSON.stringify(h), p.data);
  },
  duplicateKey: (s, rng) => {
    const p = split(s.bytes);
    const name = pick([...tensorNames(p), ...(p.header.__metadata__ ? ['__metadata__'] : [])], rng);
    const text = p.text.trimEnd();
    return assemble(`${text.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(p.header[name])}}`, p.data);
  },
  missingTensor: (s, rng) => {
    const p = split(s.bytes);
    const name = pick(weightNames(p), rng);
    const [b, e] = p.header[name].data_offsets;
    const data = new Uint8Array([...p.data.subarray(0, b), ...p.data.subarray(e)]);
    return withHeader(p, (h) => {
      delete h[name];
      for (const k of tensorNames(p)) if (k !== name && h[k].data_offsets[0] >= e) h[k].data_offsets = h[k].data_offsets.map((o: number) => o - (e - b));
    }, data);
  },
  swappedOffsets: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      const names = weightNames(p);
      const size = (k: string) => h[k].data_offsets[1] - h[k].data_offsets[0];
      const x = pick(names, rng);
      const others = names.filter((k) => size(k) !== size(x));
      const y = pick(others, rng);
      [h[x].data_offsets, h[y].data_offsets] = [h[y].data_offsets, h[x].data_offsets];
    });
  },
};

const lidbOnly: Record<string, Mutation> = {
  wrongPack: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      const field = pick(['pack_id', 'aux_sha256', 'format'], rng);
      h.__metadata__[field] = pick(field === 'aux_sha256' ? ['cd'.repeat(32), 'AB'.repeat(32), '', 'ab'.repeat(31)] : ['sd15', '', 'tiny ', 'TINY', 'hyperbooth-lidb/2', '😀'], rng);
      if (rng.uniform() < 0.2) delete h.__metadata__[field];
    });
  },
  badLidbMetadata: (s, rng) => {
    const p = split(s.bytes);
    return withHeader(p, (h) => {
      const field = pick(['rank', 'seed', 'fine_tune', 'a', 'b', 'trigger'], rng);
      const bad: Record<string, string[]> = {
        rank: ['0', '-1', '1.5', 'two', '', '99999999999999999', '3'],
        seed: ['-1', '1e3', 'x', '', '0x10'],
        fine_tune: ['', '{', '[]', 'null', '{"a":1,"a":2}', '"steps"'],
        a: ['', '0', 'x', '[1]', '{"x":1}', '{'],
        b: ['', '0', '-5', '{"x":'],
        trigger: [],
      };
      if (field === 'trigger' || bad[field].length === 0) delete h.__metadata__.trigger;
      else h.__metadata__[field] = pick(bad[field], rng);
    });
  },
};

const loraOnly: Record<string, Mutation> = {
  foreignAttentionLayer: (s, rng) => {
    const p = split(s.bytes);
    const block = pick(['transformer_blocks.1', 'transformer_blocks.9'], rng);
    const h: Record<string, any> = {};
    for (const [k, v] of Object.entries(p.header)) h[k.replace('transformer_blocks.0', block).replace('transformer_blocks_0', block.replace('.', '_'))] = v;
    return assemble(JSON.stringify(h), p.data);
  },
  nothingForThisModel: (s, rng) => {
    const p = split(s.bytes);
    const prefix = pick(['model.', 'base_model.model.', 'lora_unet', 'x'], rng);
    const h: Record<string, any> = {};
    for (const [k, v] of Object.entries(p.header)) h[k === '__metadata__' ? k : prefix + k] = v;
    return assemble(JSON.stringify(h), p.data);
  },
  rankMismatch: (s, rng) => {
    // an up tensor of rank r+1: its bytes (plus one more column) moved to the end of the data
    // and the tensors after it shifted down, so the offsets still tile the data exactly
    const p = split(s.bytes);
    const name = pick(tensorNames(p).filter((k) => /lora_up|lora_B/.test(k)), rng);
    const [rows, r] = p.header[name].shape;
    const [b, e] = p.header[name].data_offsets;
    const size = e - b;
    const extra = new Uint8Array(rows * 4);
    const data = new Uint8Array([...p.data.subarray(0, b), ...p.data.subarray(e), ...p.data.subarray(b, e), ...extra]);
    return withHeader(p, (h) => {
      for (const k of tensorNames(p)) if (h[k].data_offsets[0] > b) h[k].data_offsets = h[k].data_offsets.map((o: number) => o - size);
      h[name].shape = [rows, r + 1];
      h[name].data_offsets = [p.data.length - size, data.length];
    }, data);
  },
};

describe('fuzz: malformed LiDB and LoRA files', () => {
  it('every one of ≥ 1,000 malformed files is refused with a typed error, quickly', () => {
    const t0 = performance.now();
    const rng = new LidbRng(2024);
    const counts: Record<string, number> = {};
    const byCode: Record<string, number> = {};
    let cases = 0;
    const PER = 18;
    for (const s of sources) {
      expect(() => s.read(s.bytes)).not.toThrow(); // the source itself is valid
      const all = s.kind === 'lidb' ? { ...mutations, ...lidbOnly } : { ...mutations, ...loraOnly };
      for (const [what, mutate] of Object.entries(all)) {
        for (let i = 0; i < PER; i++) {
          const bad = mutate(s, rng);
          let error: unknown;
          try {
            s.read(bad);
          } catch (e) {
            error = e;
          }
          const label = `${s.kind}/${what}#${i}`;
          if (!(error instanceof s.errorType)) {
            throw new Error(`${label}: expected a ${s.errorType.name}, got ${error === undefined ? 'no error' : String(error)}`);
          }
          expect(s.codes.has(error.code), `${label}: unknown code ${error.code}`).toBe(true);
          expect(error.message.length).toBeGreaterThan(10);
          counts[what] = (counts[what] ?? 0) + 1;
          byCode[error.code] = (byCode[error.code] ?? 0) + 1;
          cases++;
        }
      }
    }
    const ms = performance.now() - t0;
    console.log(`fuzz: ${cases} malformed files refused in ${ms.toFixed(0)} ms; by code ${JSON.stringify(byCode)}`);
    expect(cases).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(10_000);
  });

  it('random byte corruption gives either a valid read or a typed error, never another exception', () => {
    const t0 = performance.now();
    const rng = new LidbRng(77);
    let refused = 0;
    let accepted = 0;
    for (const s of sources) {
      for (let i = 0; i < 300; i++) {
        const bad = s.bytes.slice();
        const n = int(1, 8, rng);
        // half the flips land in the first 8 + header bytes, where they matter most
        const headerEnd = 8 + Number(new DataView(bad.buffer).getBigUint64(0, true));
        for (let j = 0; j < n; j++) bad[rng.uniform() < 0.5 ? int(0, headerEnd - 1, rng) : int(0, bad.length - 1, rng)] = int(0, 255, rng);
        try {
          s.read(bad);
          accepted++;
        } catch (e) {
          if (!(e instanceof s.errorType)) throw new Error(`${s.kind} corruption #${i}: ${String(e)}`);
          expect(s.codes.has(e.code)).toBe(true);
          refused++;
        }
      }
    }
    console.log(`corruption: ${refused} refused, ${accepted} read (data-only changes) in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(refused).toBeGreaterThan(300);
  });
});
