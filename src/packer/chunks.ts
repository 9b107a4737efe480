// The pack's external data: weights copied tensor by tensor from the export into chunk files
// of at most `chunkBytes` each (a browser reads each file into one ArrayBuffer, which cannot
// exceed 2 GB), never splitting a tensor, hashing as it writes. Only one tensor is in memory
// at a time, so converting SD1.5's 3.4 GB UNet needs little more memory than its largest tensor.
import { externalLocation, onnx, tensorDims, type ModelProto, type TensorProto } from '../onnx';
import type { PackFile } from '../packs/manifest';
import { float32BytesToFloat16 } from './fp16';
import { PackInputError } from './errors';
import type { IncrementalHash, PackSink, SinkFile } from './sink';

export const DEFAULT_CHUNK_BYTES = 512 * 1024 * 1024;
/** Browsers cap one ArrayBuffer at 2 GB (and some at less): chunks stay well below. */
export const MAX_CHUNK_BYTES = 1536 * 1024 * 1024;
/** Tensors smaller than this stay inline in the .onnx file. */
export const EXTERNAL_THRESHOLD_BYTES = 1024;
const ALIGN = 64;

interface OpenChunk { index: number; file: SinkFile; size: number; hash: IncrementalHash }

/** Appends tensors to `<folder>/<prefix>.<n>.bin` in the sink, starting a new file when the next tensor would not fit. */
export class ChunkWriter {
  private current: OpenChunk | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly done: PackFile[] = [];

  /** `folder` is the pack-relative folder (e.g. `unet`) */
  constructor(private readonly sink: PackSink, private readonly folder: string, private readonly chunkBytes: number, private readonly prefix = 'weights') {
    if (!(chunkBytes >= ALIGN) || chunkBytes > MAX_CHUNK_BYTES) throw new PackInputError('options', `chunk size ${chunkBytes} bytes: give between ${ALIGN} bytes and ${MAX_CHUNK_BYTES / 2 ** 20} MB`);
  }

  private fileName(index: number): string { return `${this.prefix}.${index}.bin`; }

  /**
   * Writes `bytes` and returns where they went (location relative to the graph's folder);
   * `written` is called once the writer no longer needs them (written and hashed).
   */
  async add(tensor: string, bytes: Uint8Array, written?: () => void): Promise<{ location: string; offset: number; length: number }> {
    if (bytes.byteLength > this.chunkBytes) {
      throw new PackInputError('options', `tensor ${tensor} has ${bytes.byteLength} bytes, more than the chunk size ${this.chunkBytes} (tensors are never split): raise --chunk-mb`);
    }
    let c = this.current;
    const pad = c ? (ALIGN - (c.size % ALIGN)) % ALIGN : 0;
    if (c && c.size + pad + bytes.byteLength > this.chunkBytes) {
      await this.close();
      c = null;
    }
    if (!c) {
      const index = this.done.length;
      const file = await this.sink.openFile(`${this.folder}/${this.fileName(index)}`);
      c = this.current = { index, file, size: 0, hash: this.sink.sha256() };
    }
    const padNow = (ALIGN - (c.size % ALIGN)) % ALIGN;
    if (padNow) await this.write(c, new Uint8Array(padNow));
    const offset = c.size;
    await this.write(c, bytes, written);
    return { location: this.fileName(c.index), offset, length: bytes.byteLength };
  }

  /**
   * Starts writing `bytes` and hashes them while the sink writes (an asynchronous sink, e.g. a
   * file in Node, copies them on another thread); the write before is awaited first, so at most
   * one is in flight. The caller hands `bytes` over: they must not change afterwards.
   */
  private async write(c: OpenChunk, bytes: Uint8Array, written?: () => void): Promise<void> {
    await this.settle();
    const pending = c.file.write(bytes);
    c.hash.update(bytes);
    c.size += bytes.byteLength;
    if (pending) this.inFlight = written ? pending.then(written) : pending;
    else written?.();
  }

  private async settle(): Promise<void> {
    const p = this.inFlight;
    this.inFlight = null;
    if (p) await p;
  }

  private async close(): Promise<void> {
    const c = this.current;
    if (!c) return;
    await this.settle();
    this.current = null;
    await c.file.close();
    this.done.push({ path: `${this.folder}/${this.fileName(c.index)}`, size: c.size, sha256: c.hash.hex() });
  }

  /** Closes the last chunk; the files written, in order. */
  async finish(): Promise<PackFile[]> {
    await this.close();
    return [...this.done];
  }

  /** Closes without listing (after an error; the staging folder is removed anyway). */
  async abort(): Promise<void> {
    const c = this.current;
    this.current = null;
    await this.settle().catch(() => undefined);
    if (c) await c.file.close();
  }
}

/** Reads an external tensor's bytes: synchronously from an export's files, or asynchronously (a checkpoint streamed from a File). */
export type WeightReader = (location: string, offset: number, length: number | undefined) => Uint8Array | Promise<Uint8Array>;

export interface ExternalizeOptions {
  /** the source graph's reader for tensors that are still external there */
  readSource: WeightReader;
  /** checked between tensors */
  signal?: AbortSignal;
  /** after each external source tensor is copied, with the bytes read from the source */
  onTensor?: (name: string, bytes: number) => void;
  /** float16 initializers whose source bytes are float32 (from storeWeightsAsFp16) */
  toFloat16?: ReadonlySet<string>;
  /**
   * For those: the source's own float16 bytes (a checkpoint converts any dtype with its pooled
   * buffers), exactly what converting readSource's float32 would give; without it the float32
   * is converted here.
   */
  readFloat16?: (location: string) => Promise<Uint8Array>;
  /** bytes from readSource or readFloat16 that were written and hashed: the source may reuse their buffer */
  release?: (bytes: Uint8Array) => void;
  thresholdBytes?: number;
}

export interface Externalized {
  files: PackFile[];
  /** initializers written to the chunks */
  tensors: number;
  bytes: number;
}

/**
 * Moves the weights of `models[0]` into the chunks and points every model's initializer of the
 * same name (the train graphs share them) at the same bytes. Tensors are rewritten in place:
 * the models are the packer's working copies.
 */
export async function externalizeWeights(models: readonly ModelProto[], writer: ChunkWriter, opts: ExternalizeOptions): Promise<Externalized> {
  const threshold = opts.thresholdBytes ?? EXTERNAL_THRESHOLD_BYTES;
  const placed = new Map<string, { location: string; offset: number; length: number; dims: number[]; dataType: number }>();
  let bytes = 0;
  const moving = (models[0].graph?.initializer ?? []).filter((t) => externalLocation(t) || (t.rawData ?? new Uint8Array(0)).byteLength >= threshold);
  /** a tensor's bytes as stored, and the bytes read for it (float32: what onTensor counts) */
  /** bytes of the source's (not an initializer's own, nor a float16 copy of them): given back when written */
  const load = async (t: TensorProto): Promise<{ data: Uint8Array; readBytes: number; sourceOwned?: boolean }> => {
    const ext = externalLocation(t);
    if (!ext) {
      const inline = t.rawData!;
      return { data: opts.toFloat16?.has(t.name!) ? float32BytesToFloat16(inline, t.name!) : inline, readBytes: 0 };
    }
    if (opts.toFloat16?.has(t.name!) && opts.readFloat16) {
      const half = await opts.readFloat16(ext.location);
      return { data: half, readBytes: 2 * half.byteLength, sourceOwned: true };
    }
    const data = await opts.readSource(ext.location, ext.offset, ext.length);
    if (!opts.toFloat16?.has(t.name!)) return { data, readBytes: data.byteLength, sourceOwned: true };
    const half = float32BytesToFloat16(data, t.name!);
    opts.release?.(data);
    return { data: half, readBytes: data.byteLength };
  };
  // the next tensor is read while this one is converted, hashed and written
  let next: ReturnType<typeof load> | null = null;
  try {
    for (const [i, t] of moving.entries()) {
      if (placed.has(t.name!)) throw new Error(`initializer ${t.name} is listed twice`);
      opts.signal?.throwIfAborted();
      const current = next ?? load(t);
      next = i + 1 < moving.length ? load(moving[i + 1]) : null;
      next?.catch(() => undefined);
      const { data, readBytes, sourceOwned } = await current;
      const release = opts.release;
      const at = await writer.add(t.name!, data, sourceOwned && release ? () => release(data) : undefined);
      placed.set(t.name!, { ...at, dims: tensorDims(t), dataType: t.dataType ?? 0 });
      pointAt(t, at);
      bytes += data.byteLength;
      if (readBytes) opts.onTensor?.(t.name!, readBytes);
    }
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
  for (const model of models.slice(1)) {
    for (const t of model.graph?.initializer ?? []) {
      const at = placed.get(t.name!);
      if (!at) {
        if (externalLocation(t)) throw new Error(`initializer ${t.name} of a derived graph reads the export's external data but the forward graph has no such tensor`);
        continue;
      }
      if (t.dataType !== at.dataType || tensorDims(t).join() !== at.dims.join()) throw new Error(`initializer ${t.name} differs between the graphs that share it`);
      pointAt(t, at);
    }
  }
  return { files: await writer.finish(), tensors: placed.size, bytes };
}

function pointAt(t: TensorProto, at: { location: string; offset: number; length: number }): void {
  t.externalData = [
    onnx.StringStringEntryProto.create({ key: 'location', value: at.location }),
    onnx.StringStringEntryProto.create({ key: 'offset', value: String(at.offset) }),
    onnx.StringStringEntryProto.create({ key: 'length', value: String(at.length) }),
  ];
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  t.rawData = new Uint8Array(0);
}
