// SHA-256 fed in pieces, in WebAssembly: the browser's import hashes every weight chunk it
// writes (2–4 GB for SD1.5), WebCrypto cannot hash in pieces, and the plain JavaScript stream
// (./sha256Stream.ts) runs at ~150 MB/s. The module is generated here, a few KB of bytecode
// with the 64 rounds unrolled (the eight working variables renamed round by round instead of
// moved, the message schedule in sixteen locals), so nothing is fetched and no toolchain is
// needed. Where WebAssembly cannot be compiled, sha256Hasher() falls back to the JavaScript one.
import { INITIAL, K, Sha256Stream, type IncrementalHash } from './sha256Stream';

/** Memory layout: the state (8 words) at 0, the input staged at DATA_AT. */
const DATA_AT = 64;
const DATA_BYTES = 1 << 20;
const PAGES = Math.ceil((DATA_AT + DATA_BYTES) / 65536);

const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, void: 0x40,
  get: 0x20, set: 0x21, tee: 0x22, load: 0x28, store: 0x36, const: 0x41,
  eqz: 0x45, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, xor: 0x73, shrU: 0x76, rotl: 0x77, rotr: 0x78,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  n |= 0;
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

/** blocks(ptr, count): `count` 64-byte blocks at `ptr` into the state at 0. */
function blocksBody(): number[] {
  const PTR = 0, COUNT = 1, TMP = 2, T1 = 3;
  const V = [4, 5, 6, 7, 8, 9, 10, 11];
  const W = Array.from({ length: 16 }, (_, i) => 12 + i);
  const c: number[] = [];
  const get = (l: number) => c.push(op.get, l);
  const set = (l: number) => c.push(op.set, l);
  const k = (n: number) => c.push(op.const, ...sleb(n));
  const rot = (l: number, r: number) => { get(l); k(r); c.push(op.rotr); };
  // Σ-style: rotr(x, r0) ^ rotr(x, r1) ^ (rotr or shr)(x, r2)
  const sigma = (l: number, r0: number, r1: number, r2: number, shift: boolean) => {
    rot(l, r0); rot(l, r1); c.push(op.xor); get(l); k(r2); c.push(shift ? op.shrU : op.rotr, op.xor);
  };

  c.push(op.block, op.void, op.loop, op.void);
  get(COUNT); c.push(op.eqz, op.brIf, 1);
  for (let i = 0; i < 8; i++) { k(0); c.push(op.load, 2, ...uleb(4 * i)); set(V[i]); }
  for (let t = 0; t < 16; t++) {
    // a big-endian word: the little-endian load with its bytes swapped
    get(PTR); c.push(op.load, 2, ...uleb(4 * t), op.tee, TMP);
    k(8); c.push(op.rotl); k(0x00ff00ff); c.push(op.and);
    get(TMP); k(8); c.push(op.rotr); k(0xff00ff00); c.push(op.and, op.or);
    set(W[t]);
  }
  let [a, b, cc, d, e, f, g, h] = V;
  for (let t = 0; t < 64; t++) {
    const w = W[t % 16];
    if (t >= 16) {
      sigma(W[(t - 2) % 16], 17, 19, 10, true);
      get(W[(t - 7) % 16]); c.push(op.add);
      sigma(W[(t - 15) % 16], 7, 18, 3, true); c.push(op.add);
      get(w); c.push(op.add); set(w);
    }
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t], Ch = g ^ (e & (f ^ g))
    get(h); sigma(e, 6, 11, 25, false); c.push(op.add);
    get(g); get(e); get(f); get(g); c.push(op.xor, op.and, op.xor, op.add);
    k(K[t]); c.push(op.add); get(w); c.push(op.add); set(T1);
    // d += T1 (the new e); h = T1 + Σ0(a) + Maj(a, b, c) (the new a), Maj = (a & b) | (c & (a | b))
    get(d); get(T1); c.push(op.add); set(d);
    get(T1); sigma(a, 2, 13, 22, false); c.push(op.add);
    get(a); get(b); c.push(op.and); get(cc); get(a); get(b); c.push(op.or, op.and, op.or, op.add); set(h);
    [a, b, cc, d, e, f, g, h] = [h, a, b, cc, d, e, f, g];
  }
  for (let i = 0; i < 8; i++) { k(0); k(0); c.push(op.load, 2, ...uleb(4 * i)); get(V[i]); c.push(op.add, op.store, 2, ...uleb(4 * i)); }
  get(PTR); k(64); c.push(op.add); set(PTR);
  get(COUNT); k(1); c.push(op.sub); set(COUNT);
  c.push(op.br, 0, op.end, op.end, op.end);
  // 26 i32 locals besides the two parameters
  return [1, 26, 0x7f, ...c];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const name = (s: string) => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];

/** The module's bytes: one function (i32, i32) → () and its memory, both exported. */
export function sha256WasmBytes(): Uint8Array<ArrayBuffer> {
  const body = blocksBody();
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, ...uleb(PAGES)]),
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('blocks'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

let compiled: WebAssembly.Module | null | undefined;
function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(sha256WasmBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export class Sha256Wasm implements IncrementalHash {
  private readonly blocks: (ptr: number, count: number) => void;
  private readonly mem: Uint8Array;
  private readonly state: Uint32Array;
  /** bytes staged at DATA_AT, not yet hashed (always fewer than DATA_BYTES) */
  private staged = 0;
  private length = 0;
  private finished: string | undefined;

  constructor(module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module);
    const memory = instance.exports.memory as WebAssembly.Memory;
    this.blocks = instance.exports.blocks as (ptr: number, count: number) => void;
    this.mem = new Uint8Array(memory.buffer);
    this.state = new Uint32Array(memory.buffer, 0, 8);
    this.state.set(INITIAL);
  }

  update(bytes: Uint8Array): this {
    if (this.finished !== undefined) throw new Error('Sha256Wasm: update() after hex()');
    this.length += bytes.byteLength;
    let at = 0;
    while (at < bytes.byteLength) {
      const take = Math.min(DATA_BYTES - this.staged, bytes.byteLength - at);
      this.mem.set(bytes.subarray(at, at + take), DATA_AT + this.staged);
      this.staged += take;
      at += take;
      const whole = this.staged >>> 6;
      if (this.staged === DATA_BYTES || (at === bytes.byteLength && whole)) {
        this.blocks(DATA_AT, whole);
        const rest = this.staged - whole * 64;
        this.mem.copyWithin(DATA_AT, DATA_AT + whole * 64, DATA_AT + this.staged);
        this.staged = rest;
      }
    }
    return this;
  }

  hex(): string {
    if (this.finished !== undefined) return this.finished;
    const bits = this.length * 8;
    const tail = new Uint8Array(this.staged < 56 ? 64 - this.staged : 128 - this.staged);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.mem.set(tail, DATA_AT + this.staged);
    this.blocks(DATA_AT, (this.staged + tail.length) >>> 6);
    let out = '';
    for (const v of this.state) out += v.toString(16).padStart(8, '0');
    this.finished = out;
    return out;
  }
}

/** An incremental SHA-256 that runs anywhere: WebAssembly where it compiles, JavaScript otherwise. */
export function sha256Hasher(): Sha256Wasm | Sha256Stream {
  const m = wasmModule();
  return m ? new Sha256Wasm(m) : new Sha256Stream();
}
