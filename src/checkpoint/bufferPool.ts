// Buffers for the tensors a conversion streams through: SD1.5 moves 2–4 GB one tensor at a time,
// and a fresh ArrayBuffer per tensor costs a page fault per 4 KB and, once enough external
// memory was allocated, a full garbage collection over the graphs being built. A released
// buffer is handed out again for a tensor that fits. Only buffers up to MAX_POOLED_BYTES are
// kept, at most KEEP of them, so the pool adds little to the peak (a browser tab's budget).

const KEEP = 3;
const MAX_POOLED_BYTES = 64 * 2 ** 20;

export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  /** a buffer of at least `byteLength` bytes, with whatever it held before */
  take(byteLength: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.byteLength >= byteLength && (best < 0 || b.byteLength < this.free[best].byteLength)) best = i;
    }
    return best >= 0 ? this.free.splice(best, 1)[0] : new ArrayBuffer(byteLength);
  }

  /** `buffer` is no longer used by anyone */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength > MAX_POOLED_BYTES || this.free.includes(buffer)) return;
    this.free.push(buffer);
    if (this.free.length > KEEP) {
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i].byteLength < this.free[smallest].byteLength) smallest = i;
      this.free.splice(smallest, 1);
    }
  }
}
