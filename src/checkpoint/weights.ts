// The builders' WeightSource over one model's checkpoint tensors. Small tensors (norms, biases:
// under 4 KB as float32) are read up front and go inline into the graph, as the ONNX-export path
// inlines them; every other parameter becomes an external reference named after itself, which
// the pack's chunk writer resolves through `read` one tensor at a time: read, converted to
// float32 (F16/BF16 as read; ./tensorBytes.ts), transposed where torch's orientation differs
// from the graph's; `readFloat16` gives a --fp16 pack float16 bytes (an F16 tensor as it is).
import { hostTensor, makeTensorProto, onnx, type TensorProto } from '../onnx';
import type { WeightLayout, WeightSource } from '../models/layers';
import type { TensorRef } from './components';
import { CheckpointError } from './errors';
import { readTensorFloat32, readTensorRaw } from './safetensorsIndex';
import { BufferPool } from './bufferPool';
import { float16TensorBytes, float32TensorBytes } from './tensorBytes';
import { float32BytesToFloat16 } from '../packer/fp16';

/** As the ONNX-export path (src/packer/source.ts): smaller tensors are inline in the graph. */
const INLINE_BELOW_BYTES = 4096;

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const squeezeTrailing = (dims: readonly number[]) => {
  const d = [...dims];
  while (d.length > 1 && d[d.length - 1] === 1) d.pop();
  return d;
};

interface Placed { ref: TensorRef; dims: number[]; layout: WeightLayout }

export class CheckpointWeights implements WeightSource {
  private readonly small = new Map<string, Float32Array>();
  private readonly placed = new Map<string, Placed>();
  private readonly pool = new BufferPool();

  /** `part` and `file` for messages; `tensors` by diffusers name */
  constructor(readonly part: string, readonly file: string, readonly tensors: ReadonlyMap<string, TensorRef>) {}

  /** Reads the small tensors (one pass; they are a tiny fraction of the bytes). */
  async prefetchSmall(signal?: AbortSignal): Promise<void> {
    for (const [name, ref] of this.tensors) {
      if (numel(ref.entry.shape) * 4 >= INLINE_BELOW_BYTES) continue;
      signal?.throwIfAborted();
      this.small.set(name, await readTensorFloat32(ref.index, ref.entry));
    }
  }

  tensor(name: string, dims: number[], layout: WeightLayout): TensorProto {
    const ref = this.tensors.get(name);
    if (!ref) throw new CheckpointError('not-sd1', `${this.file}: the ${this.part} has no tensor for ${name} (the checkpoint's layout is not SD1.x's)`);
    const src = squeezeTrailing(ref.entry.shape);
    const want = layout === 'transposed' ? [dims[1], dims[0]] : squeezeTrailing(dims);
    if (src.join() !== want.join()) {
      throw new CheckpointError('not-sd1', `${this.file}: ${this.part} tensor ${ref.entry.name} has shape ${JSON.stringify(ref.entry.shape)}, SD1.x's layout needs ${JSON.stringify(layout === 'transposed' ? want : dims)} here`);
    }
    this.placed.set(name, { ref, dims, layout });
    const small = this.small.get(name);
    if (small) return makeTensorProto(name, hostTensor(this.arrange(small, dims, layout), dims));
    return onnx.TensorProto.create({
      name,
      dataType: onnx.TensorProto.DataType.FLOAT,
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: name },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(numel(dims) * 4) },
      ],
    });
  }

  /** float32 bytes of an external parameter, in the graph's orientation (the chunk writer's reader). */
  readonly read = async (location: string): Promise<Uint8Array> => {
    const p = this.placedAt(location);
    const raw = await this.readRaw(p);
    return this.keep(raw, float32TensorBytes(raw, p.ref.entry.dtype, p.dims, p.layout, p.ref.entry.name, this.alloc));
  };

  /**
   * float16 bytes of an external parameter for a --fp16 pack: an F16 tensor as it is, any other
   * dtype through float32 (the same bytes as converting read()'s), in pooled buffers either way:
   * a fresh 2 GB of float16 copies cost a page fault every 4 KB.
   */
  readonly readFloat16 = async (location: string): Promise<Uint8Array> => {
    const p = this.placedAt(location);
    const raw = await this.readRaw(p);
    if (p.ref.entry.dtype === 'F16') return this.keep(raw, float16TensorBytes(raw, p.dims, p.layout, this.alloc));
    const floats = this.keep(raw, float32TensorBytes(raw, p.ref.entry.dtype, p.dims, p.layout, p.ref.entry.name, this.alloc));
    try {
      return float32BytesToFloat16(floats, p.ref.entry.name, this.alloc);
    } finally {
      this.pool.give(floats.buffer as ArrayBuffer);
    }
  };

  /** bytes read or readFloat16 returned, which the pack's writer no longer needs: their buffer is reused */
  readonly release = (bytes: Uint8Array): void => {
    this.pool.give(bytes.buffer as ArrayBuffer);
  };

  private readonly alloc = (n: number): ArrayBuffer => this.pool.take(n);

  private async readRaw(p: Placed): Promise<Uint8Array> {
    const e = p.ref.entry;
    const into = this.pool.take(e.end - e.begin);
    const raw = await readTensorRaw(p.ref.index, e, into);
    // a source that cannot read into a buffer (File.slice) made its own
    if (raw.buffer !== into) this.pool.give(into);
    return raw;
  }

  /** the raw bytes go back to the pool unless they are the output */
  private keep(raw: Uint8Array, out: Uint8Array): Uint8Array {
    if (raw.buffer !== out.buffer) this.pool.give(raw.buffer as ArrayBuffer);
    return out;
  }

  private placedAt(location: string): Placed {
    const p = this.placed.get(location);
    if (!p) throw new Error(`${this.part}: no checkpoint tensor was placed under ${location}`);
    return p;
  }

  /** Tensors of this model that no graph parameter read: a layout the builders do not know. */
  unused(): string[] {
    return [...this.tensors.keys()].filter((k) => !this.placed.has(k)).map((k) => this.tensors.get(k)!.entry.name);
  }

  private arrange(values: Float32Array, dims: number[], layout: WeightLayout): Float32Array {
    if (layout === 'same') return values;
    // torch [out, in] → the graph's [in, out]
    const [nIn, nOut] = dims;
    const out = new Float32Array(values.length);
    for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) out[i * nOut + o] = values[o * nIn + i];
    return out;
  }
}
