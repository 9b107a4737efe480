// LoRA slots on the exported UNet and text encoder (insertLoraSlots finds each attention
// projection through the MatMul that reads a weight initializer, named by its module path),
// and the checks that they are all there: every attention has its four projections, and an
// SD1.5-sized graph has SD1.5's 128 UNet / 48 text-encoder layers.
import type { ModelProto } from '../onnx';
import { CLIP_ATTENTION_PROJECTION, insertLoraSlots, modulePathOfNode, UNET_ATTENTION_PROJECTION } from '../onnx/lora';
import type { LoraLayer, LoraTarget } from '../packs/manifest';
import { PackInputError } from './errors';
import { OPTIMIZED_EXPORT_ADVICE } from './inspect';

export const SD15_LAYER_COUNTS: Record<LoraTarget, number> = { unet: 128, text_encoder: 48 };

const PROJECTIONS: Record<LoraTarget, { pattern: RegExp; names: string[]; attention: RegExp }> = {
  unet: { pattern: UNET_ATTENTION_PROJECTION, names: ['to_q', 'to_k', 'to_v', 'to_out.0'], attention: /(^|\.)attn[12]$/ },
  text_encoder: { pattern: CLIP_ATTENTION_PROJECTION, names: ['q_proj', 'k_proj', 'v_proj', 'out_proj'], attention: /(^|\.)self_attn$/ },
};

export interface SlottedGraph {
  model: ModelProto;
  layers: LoraLayer[];
}

/** Adds the slots and checks every attention module has exactly its four projections. */
export function addLoraSlots(model: ModelProto, target: LoraTarget, name: string): SlottedGraph {
  const spec = PROJECTIONS[target];
  const { model: slotted, layers } = insertLoraSlots(model, { match: spec.pattern, target });
  const attentions = attentionModules(model, spec.attention);
  if (layers.length === 0) {
    throw new PackInputError('optimized-export',
      `${name}: no attention projections found (MatMul nodes named like /…/${target === 'unet' ? 'attn1/to_q' : 'self_attn/q_proj'}/MatMul whose weight is an initializer)` +
      (attentions.size ? `, although ${attentions.size} attention modules are there: their q/k/v projections are fused or packed.` : ': the graph has no attention module names (an export without torch module scopes, torch < 1.13?).') +
      ` ${OPTIMIZED_EXPORT_ADVICE}`);
  }
  const found = new Map<string, string[]>();
  for (const l of layers) {
    const cut = l.name.lastIndexOf(spec.names.find((p) => l.name.endsWith(`.${p}`))!) - 1;
    const module = l.name.slice(0, cut);
    found.set(module, [...(found.get(module) ?? []), l.name.slice(cut + 1)]);
  }
  for (const module of attentions) if (!found.has(module)) found.set(module, []);
  const incomplete = [...found].filter(([, ps]) => spec.names.some((p) => !ps.includes(p)));
  if (incomplete.length) {
    const [module, ps] = incomplete[0];
    const lacking = spec.names.filter((p) => !ps.includes(p));
    throw new PackInputError('optimized-export',
      `${name}: ${incomplete.length} attention module${incomplete.length === 1 ? '' : 's'} lack separate projections, e.g. ${module} has no ${lacking.join(', ')} ` +
      `(q/k/v packed into one MatMul, as ORT's transformer optimizer writes them). ${OPTIMIZED_EXPORT_ADVICE}`);
  }
  return { model: slotted, layers };
}

/** Module paths of attention modules, from the scopes in node names. */
function attentionModules(model: ModelProto, attention: RegExp): Set<string> {
  const out = new Set<string>();
  for (const n of model.graph?.node ?? []) {
    const path = n.name ? modulePathOfNode(n.name) : null;
    if (!path) continue;
    const parts = path.split('.');
    // the attention module is a prefix of the node's scope: …attn1(.to_q…)
    for (let i = parts.length; i > 0; i--) {
      const prefix = parts.slice(0, i).join('.');
      if (attention.test(prefix)) { out.add(prefix); break; }
    }
  }
  return out;
}

/** SD1.5's widths: UNet projections 320/640/1280 wide with cross-attention reading 768; CLIP ViT-L/14's text tower. */
export function hasSd15Dimensions(target: LoraTarget, layers: readonly LoraLayer[], vocabSize?: number | null): boolean {
  if (target === 'unet') {
    const widths = new Set(layers.map((l) => l.nOut));
    const crossKeys = layers.filter((l) => /\.attn2\.to_[kv]$/.test(l.name));
    return widths.size === 3 && [320, 640, 1280].every((w) => widths.has(w)) && crossKeys.length > 0 && crossKeys.every((l) => l.nIn === 768);
  }
  return layers.length > 0 && layers.every((l) => l.nIn === 768 && l.nOut === 768) && vocabSize === 49408;
}

export interface CountCheck {
  level: 'ok' | 'warning' | 'error';
  message: string;
}

/** SD1.5 has 128 UNet and 48 text-encoder LoRA layers; other counts are fine for other models. */
export function checkLayerCount(target: LoraTarget, layers: readonly LoraLayer[], sd15Dims: boolean): CountCheck {
  const expected = SD15_LAYER_COUNTS[target];
  const what = target === 'unet' ? 'UNet' : 'text-encoder';
  if (layers.length === expected) {
    return { level: 'ok', message: `${layers.length} ${what} LoRA layers (SD1.5 has ${expected})` };
  }
  if (sd15Dims) {
    return { level: 'error', message: `found ${layers.length} ${what} LoRA layers, but a graph of SD1.5's dimensions has ${expected}: some attention projections were not recognized (an optimized or modified export?). ${OPTIMIZED_EXPORT_ADVICE}` };
  }
  return { level: 'warning', message: `found ${layers.length} ${what} LoRA layers; SD1.5 has ${expected} (these are not SD1.5's dimensions, so that can be right)` };
}
