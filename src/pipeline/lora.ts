// Values for the packs' LoRA slots. Every projection listed in manifest.lora.layers is a graph
// input pair `lora.<layer>.down` [n_in, r] / `lora.<layer>.up` [r, n_out] whose product is added
// to the projection; a layer without values gets rank-1 zeros, which adds exactly nothing.
import { loraInputNames, type LoraLayer, type LoraTarget } from '../packs/manifest';
import type { Feeds } from '../runtime/types';

export interface LoraSlotValue {
  /** [n_in, rank], row-major */
  down: Float32Array;
  /** [rank, n_out], row-major */
  up: Float32Array;
  rank: number;
}

/** keyed by diffusers module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q` */
export type LoraValues = Map<string, LoraSlotValue>;

/** Rank-1 zero slots for every layer of `target`; built once per pipeline and shared by every run. */
export function zeroLoraFeeds(layers: readonly LoraLayer[], target: LoraTarget): Feeds {
  const feeds: Feeds = {};
  for (const layer of layers) {
    if (layer.target !== target) continue;
    const names = loraInputNames(layer.name);
    feeds[names.down] = { type: 'float32', dims: [layer.nIn, 1], data: new Float32Array(layer.nIn) };
    feeds[names.up] = { type: 'float32', dims: [1, layer.nOut], data: new Float32Array(layer.nOut) };
  }
  return feeds;
}

/** Checks `values` against the pack's layer list; unknown names and wrong sizes are errors, not silently ignored. */
export function validateLoraValues(layers: readonly LoraLayer[], values: LoraValues): void {
  const byName = new Map(layers.map((l) => [l.name, l]));
  for (const [name, v] of values) {
    const layer = byName.get(name);
    if (!layer) throw new Error(`LoRA values for "${name}": the pack has no such LoRA layer`);
    if (!Number.isInteger(v.rank) || v.rank < 1) throw new Error(`LoRA values for "${name}": rank must be a positive integer, got ${v.rank}`);
    if (v.down.length !== layer.nIn * v.rank) {
      throw new Error(`LoRA values for "${name}": down has ${v.down.length} values, expected ${layer.nIn}×${v.rank}`);
    }
    if (v.up.length !== v.rank * layer.nOut) {
      throw new Error(`LoRA values for "${name}": up has ${v.up.length} values, expected ${v.rank}×${layer.nOut}`);
    }
  }
}

/** The slot feeds of one graph: the given values where present, the shared zeros elsewhere. */
export function loraFeeds(layers: readonly LoraLayer[], target: LoraTarget, zeros: Feeds, values?: LoraValues): Feeds {
  if (!values || values.size === 0) return zeros;
  const feeds: Feeds = { ...zeros };
  for (const layer of layers) {
    if (layer.target !== target) continue;
    const v = values.get(layer.name);
    if (!v) continue;
    const names = loraInputNames(layer.name);
    feeds[names.down] = { type: 'float32', dims: [layer.nIn, v.rank], data: v.down };
    feeds[names.up] = { type: 'float32', dims: [v.rank, layer.nOut], data: v.up };
  }
  return feeds;
}
