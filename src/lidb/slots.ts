// LoRA slot values: what the pack's UNet and text encoder take per layer as `lora.<path>.down`
// [nIn, r] and `lora.<path>.up` [r, nOut], adding x·down·up to the projection (y = x·W).
import type { LoraLayer } from '../packs/manifest';

export interface LoraSlot {
  rank: number;
  /** [nIn, rank] row-major */
  down: Float32Array;
  /** [rank, nOut] row-major */
  up: Float32Array;
}

export type LoraSlots = Map<string, LoraSlot>;

/** A slot that adds nothing. Rank 1, not 0: a zero-sized input is refused by some backends. */
export function zeroSlot(layer: LoraLayer, rank = 1): LoraSlot {
  return { rank, down: new Float32Array(layer.nIn * rank), up: new Float32Array(rank * layer.nOut) };
}

/**
 * The same product at a higher rank: zero columns appended to down and zero rows to up, so
 * layers of different rank can share one graph whose rank dimension is common.
 */
export function padSlotRank(slot: LoraSlot, layer: LoraLayer, rank: number): LoraSlot {
  if (rank < slot.rank) throw new RangeError(`cannot pad rank ${slot.rank} down to ${rank}`);
  if (rank === slot.rank) return slot;
  const down = new Float32Array(layer.nIn * rank);
  for (let i = 0; i < layer.nIn; i++) down.set(slot.down.subarray(i * slot.rank, (i + 1) * slot.rank), i * rank);
  const up = new Float32Array(rank * layer.nOut);
  up.set(slot.up);
  return { rank, down, up };
}

/**
 * Slots for every layer of the pack: those given, and zero slots elsewhere; with `rank`,
 * every slot padded to that rank (at least the largest given).
 */
export function completeSlots(layers: readonly LoraLayer[], slots: LoraSlots, rank?: number): LoraSlots {
  const common = rank ?? 0;
  const out: LoraSlots = new Map();
  for (const l of layers) {
    const s = slots.get(l.name) ?? zeroSlot(l, Math.max(1, common));
    out.set(l.name, common ? padSlotRank(s, l, common) : s);
  }
  return out;
}

export function maxSlotRank(slots: LoraSlots): number {
  let r = 0;
  for (const s of slots.values()) r = Math.max(r, s.rank);
  return r;
}
