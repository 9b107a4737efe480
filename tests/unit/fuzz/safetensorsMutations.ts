// Structural mutations of safetensors files (the LiDB, LoRA and aux formats are safetensors):
// each keeps the file well-formed except for one rule of the format or of the reader, so the
// reader must notice that rule. Moved here from the LiDB fuzz test to serve every target.
import type { FuzzRng, Mutator } from './mutate';

interface Parts { header: Record<string, any>; text: string; data: Uint8Array }

export function split(bytes: Uint8Array): Parts {
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

type Mutation = Mutator<Uint8Array>;
const pick = <T>(xs: readonly T[], rng: FuzzRng): T => rng.pick(xs);
const int = (lo: number, hi: number, rng: FuzzRng) => rng.int(lo, hi);
const withHeader = (p: Parts, f: (h: Record<string, any>) => void, data = p.data) => {
  const h = structuredClone(p.header);
  f(h);
  return assemble(JSON.stringify(h), data);
};

/** Structural damage to any safetensors file: each one breaks a rule of the format. */
export const safetensorsMutators: Record<string, Mutation> = {
  truncated: (bytes, rng) => bytes.slice(0, int(0, bytes.length - 1, rng)),
  hugeHeaderLength: (bytes, rng) => {
    const out = bytes.slice();
    const n = pick([100_000_001n, 2n ** 32n, 2n ** 63n + BigInt(int(0, 1e6, rng)), 2n ** 64n - 1n, BigInt(int(100_000_001, 2 ** 31, rng))], rng);
    new DataView(out.buffer).setBigUint64(0, n, true);
    return out;
  },
  headerLengthBeyondFile: (bytes, rng) => {
    const out = bytes.slice();
    new DataView(out.buffer).setBigUint64(0, BigInt(int(bytes.length - 7, 100_000_000, rng)), true);
    return out;
  },
  headerLengthShort: (bytes, rng) => {
    const out = bytes.slice();
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    new DataView(out.buffer).setBigUint64(0, BigInt(int(0, n - 1, rng)), true);
    return out;
  },
  offsetsOutOfRange: (bytes, rng) => {
    const p = split(bytes);
    return withHeader(p, (h) => {
      const t = h[pick(tensorNames(p), rng)];
      t.data_offsets[1] += pick([1, 4, int(5, 1e6, rng), 2 ** 53], rng);
    });
  },
  offsetsOverlapping: (bytes, rng) => {
    const p = split(bytes);
    return withHeader(p, (h) => {
      const names = tensorNames(p).filter((k) => h[k].data_offsets[0] > 0);
      const t = h[pick(names, rng)];
      const k = Math.min(t.data_offsets[0], pick([1, 2, 4, int(1, 64, rng)], rng));
      t.data_offsets = [t.data_offsets[0] - k, t.data_offsets[1] - k];
    });
  },
  offsetsWithHole: (bytes, rng) => {
    const p = split(bytes);
    const gap = int(1, 32, rng);
    const cut = pick(tensorNames(p).map((k) => p.header[k].data_offsets[0]), rng);
    const data = new Uint8Array(p.data.length + gap);
    data.set(p.data.subarray(0, cut));
    data.set(p.data.subarray(cut), cut + gap);
    return withHeader(p, (h) => {
      for (const k of tensorNames(p)) if (h[k].data_offsets[0] >= cut) h[k].data_offsets = h[k].data_offsets.map((o: number) => o + gap);
    }, data);
  },
  trailingBytes: (bytes, rng) => {
    const p = split(bytes);
    const data = new Uint8Array(p.data.length + int(1, 100, rng));
    data.set(p.data);
    return assemble(p.text, data);
  },
  offsetsNotAPair: (bytes, rng) => {
    const p = split(bytes);
    return withHeader(p, (h) => {
      h[pick(tensorNames(p), rng)].data_offsets = pick([[0], [0, 4, 8], ['0', '4'], [-4, 0], [4, 0], null, 'x', [0.5, 4]], rng);
    });
  },
  wrongDtype: (bytes, rng) => {
    const p = split(bytes);
    return withHeader(p, (h) => {
      h[pick(weightNames(p), rng)].dtype = pick(['f32', 'F32 ', 'FLOAT', 'F4', 'F6_E2M3', '', 'I32', 'U32', 'F16', 'F64', 'BOOL', 'Q4_0', 32, null, ['F32']], rng);
    });
  },
  wrongShape: (bytes, rng) => {
    const p = split(bytes);
    return withHeader(p, (h) => {
      const t = h[pick(weightNames(p), rng)];
      const [r, c] = t.shape;
      t.shape = pick([[c, r], [r, c + 1], [r * c], [r, c, 1], [], [r + 1, c], [-r, -c], [r, c / 2 + 0.5], [2 ** 60, 2 ** 60], [r, '24'], 'r,c', null], rng);
    });
  },
  nonFinite: (bytes, rng) => {
    const p = split(bytes);
    const name = pick(tensorNames(p), rng);
    const [b, e] = p.header[name].data_offsets;
    const data = p.data.slice();
    const at = b + 4 * int(0, (e - b) / 4 - 1, rng);
    new DataView(data.buffer).setFloat32(at, pick([NaN, Infinity, -Infinity], rng), true);
    return assemble(p.text, data);
  },
  invalidJson: (bytes, rng) => {
    const p = split(bytes);
    const text = p.text.trimEnd();
    if (rng.uniform() < 0.5) return assemble(text.slice(0, int(1, text.length - 1, rng)), p.data);
    const structural = [...text].flatMap((c, i) => ('{}[]:,"'.includes(c) ? [i] : []));
    const i = pick(structural, rng);
    return assemble(text.slice(0, i) + text.slice(i + 1), p.data);
  },
  nonObjectHeader: (bytes, rng) => assemble(pick(['[]', '"header"', '42', 'null', 'true', '[{"a":1}]', ' {}', '\u00a0{}', '', '{]'], rng), split(bytes).data),
  metadataNotStrings: (bytes, rng) => {
    const p = split(bytes);
    return withHeader(p, (h) => {
      const v = pick([1, 2.5, null, true, [], ['x'], { a: 'b' }], rng);
      if (rng.uniform() < 0.2) h.__metadata__ = pick([[], 'meta', 3, [['a', 'b']]], rng);
      else {
        h.__metadata__ ??= {};
        h.__metadata__[pick([...Object.keys(h.__metadata__), 'extra'], rng)] = v;
      }
    });
  },
  invalidUtf8: (bytes, rng) => {
    const p = split(bytes);
    const h = new TextEncoder().encode(p.text);
    const junk = pick([[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]], rng);
    const at = int(1, h.length - 1, rng);
    return assemble(new Uint8Array([...h.subarray(0, at), ...junk, ...h.subarray(at)]), p.data);
  },
  unicodeNames: (bytes, rng) => {
    const p = split(bytes);
    const name = pick(weightNames(p), rng);
    const junk = pick(['\u202e', '\u200b', '😀', 'ａ', '\u0000', 'é', '\ufeff', '\ud800'], rng);
    const h: Record<string, any> = {};
    for (const [k, v] of Object.entries(p.header)) h[k === name ? junk + name : k] = v;
    return assemble(JSON.stringify(h), p.data);
  },
  duplicateKey: (bytes, rng) => {
    const p = split(bytes);
    const name = pick([...tensorNames(p), ...(p.header.__metadata__ ? ['__metadata__'] : [])], rng);
    const text = p.text.trimEnd();
    return assemble(`${text.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(p.header[name])}}`, p.data);
  },
  missingTensor: (bytes, rng) => {
    const p = split(bytes);
    const name = pick(weightNames(p), rng);
    const [b, e] = p.header[name].data_offsets;
    const data = new Uint8Array([...p.data.subarray(0, b), ...p.data.subarray(e)]);
    return withHeader(p, (h) => {
      delete h[name];
      for (const k of tensorNames(p)) if (k !== name && h[k].data_offsets[0] >= e) h[k].data_offsets = h[k].data_offsets.map((o: number) => o - (e - b));
    }, data);
  },
  swappedOffsets: (bytes, rng) => {
    const p = split(bytes);
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

/** Damage only a LiDB reader can see (its metadata ties it to the pack). */
export const lidbMutators: Record<string, Mutation> = {
  wrongPack: (bytes, rng) => {
    const p = split(bytes);
    return withHeader(p, (h) => {
      const field = pick(['pack_id', 'aux_sha256', 'format'], rng);
      h.__metadata__[field] = pick(field === 'aux_sha256' ? ['cd'.repeat(32), 'AB'.repeat(32), '', 'ab'.repeat(31)] : ['sd15', '', 'tiny ', 'TINY', 'hyperbooth-lidb/2', '😀'], rng);
      if (rng.uniform() < 0.2) delete h.__metadata__[field];
    });
  },
  badLidbMetadata: (bytes, rng) => {
    const p = split(bytes);
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

/** Damage only a LoRA importer can see (layers of another model, rank disagreements). */
export const loraMutators: Record<string, Mutation> = {
  foreignAttentionLayer: (bytes, rng) => {
    const p = split(bytes);
    const block = pick(['transformer_blocks.1', 'transformer_blocks.9'], rng);
    const h: Record<string, any> = {};
    for (const [k, v] of Object.entries(p.header)) h[k.replace('transformer_blocks.0', block).replace('transformer_blocks_0', block.replace('.', '_'))] = v;
    return assemble(JSON.stringify(h), p.data);
  },
  nothingForThisModel: (bytes, rng) => {
    const p = split(bytes);
    const prefix = pick(['model.', 'base_model.model.', 'lora_unet', 'x'], rng);
    const h: Record<string, any> = {};
    for (const [k, v] of Object.entries(p.header)) h[k === '__metadata__' ? k : prefix + k] = v;
    return assemble(JSON.stringify(h), p.data);
  },
  rankMismatch: (bytes, rng) => {
    // an up tensor of rank r+1: its bytes (plus one more column) moved to the end of the data
    // and the tensors after it shifted down, so the offsets still tile the data exactly
    const p = split(bytes);
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

