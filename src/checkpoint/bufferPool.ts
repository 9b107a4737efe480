// Buffers for the tensors a conversion streams through: SD1.5 moves 2–4 GB one tensor at a time,
// and a fresh ArrayBuffer per tensor costs a page fault per 4 KB and, once enough external
// memory was allocated, a full garbage collection over the graphs being built. A released
// buffer is handed out again for a tensor that fits. Only buffers up to MAX_POOLED_BYTES are
// kept, KEEP_BYTES of them at most, so the pool adds little to the peak (a browser tab's budget).
// A new buffer is made at the next power of two: SD1.5's tensors come in dozens of sizes, and
// exact-size buffers missed 80 times (1.3 GiB of fresh pages) in one import of an F16 file into
// a float32 pack; with size classes up to 128 MiB (the up blocks' 3×3 convolutions from 2,560
// channels are 113 MiB as float32) it misses 25 times, mostly while the first buffers are made.

const KEEP_BYTES = 256 * 2 ** 20;
const MAX_POOLED_BYTES = 128 * 2 ** 20;
const MIN_CLASS_BYTES = 64 * 2 ** 10;

export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  /** a buffer of at least `byteLength` bytes, with whatever it held before */
  take(byteLength: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.byteLength >= byteLength && (best < 0 || b.byteLength < this.free[best].byteLength)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0];
    return new ArrayBuffer(byteLength > MAX_POOLED_BYTES ? byteLength : sizeClass(byteLength));
  }

  /** `buffer` is no longer used by anyone */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength > MAX_POOLED_BYTES || this.free.includes(buffer)) return;
    this.free.push(buffer);
    // the smallest go first: a large buffer serves small tensors too
    let kept = this.free.reduce((n, b) => n + b.byteLength, 0);
    while (kept > KEEP_BYTES) {
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i].byteLength < this.free[smallest].byteLength) smallest = i;
      kept -= this.free.splice(smallest, 1)[0].byteLength;
    }
  }
}

/** the power of two at or above `n` (at least 64 KiB, at most MAX_POOLED_BYTES) */
function sizeClass(n: number): number {
  return Math.min(MAX_POOLED_BYTES, Math.max(MIN_CLASS_BYTES, 2 ** Math.ceil(Math.log2(n))));
}
