// The personalization as an ordinary LoRA, and ordinary LoRAs into the slots.
// kohya/A1111/ComfyUI: `lora_unet_<path, . → _>.lora_down.weight` [r, nIn], `.lora_up.weight`
// [nOut, r], `.alpha` (ΔW = alpha/r · upᵀ… in PyTorch's [out, in] orientation);
// `lora_te_<path>` for the text encoder. PEFT/diffusers: `unet.<path>.lora_A.weight` [r, nIn],
// `.lora_B.weight` [nOut, r], `text_encoder.<path>…`. Our slots use the ONNX orientation
// (y = x·W, slot adds x·down·up), hence down = lora_downᵀ·scale, up = lora_upᵀ.
import type { LoraLayer } from '../packs/manifest';
import { readSafetensors, writeSafetensors, type RawTensor, type TensorToWrite } from '../safetensors';
import { elementCount, encodeFloats, toFloat32 } from '../safetensors/decode';
import { LoraFileError, rethrowSafetensors, type LoraFileErrorCode } from './errors';
import { outOfRangeMessage } from './finite';
import { LIDB_FORMAT } from './file';
import type { AuxBases } from './aux';
import type { Lidb } from './lidb';
import { personalSlots, type PersonalWeights } from './personal';
import { transpose } from './matmul';
import { maxSlotRank, type LoraSlots } from './slots';

export type LoraFormat = 'kohya' | 'peft';

export function kohyaModuleName(layer: LoraLayer): string {
  return `${layer.target === 'unet' ? 'lora_unet' : 'lora_te'}_${layer.name.replace(/\./g, '_')}`;
}

export function peftModuleName(layer: LoraLayer): string {
  return `${layer.target === 'unet' ? 'unet' : 'text_encoder'}.${layer.name}`;
}

export interface LoraExportOptions {
  dtype?: 'F32' | 'F16';
  /** extra `__metadata__` entries (strings) */
  metadata?: Record<string, string>;
}

/**
 * Writes the slots of `layers` (in that order; layers without a slot are left out) as a LoRA
 * file. kohya's alpha is written equal to each layer's rank, so the scale alpha/r is 1 and the
 * file means exactly down·up.
 */
export function exportLora(slots: LoraSlots, layers: readonly LoraLayer[], format: LoraFormat, opts: LoraExportOptions = {}): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const tensors: TensorToWrite[] = [];
  for (const l of layers) {
    const s = slots.get(l.name);
    if (!s) continue;
    if (s.down.length !== l.nIn * s.rank || s.up.length !== s.rank * l.nOut) {
      throw new RangeError(`slot ${l.name}: down has ${s.down.length} values, up ${s.up.length}; rank ${s.rank} ${l.nIn}→${l.nOut} needs ${l.nIn * s.rank} and ${s.rank * l.nOut}`);
    }
    const down = encodeFloats(transpose(s.down, l.nIn, s.rank), dtype);
    const up = encodeFloats(transpose(s.up, s.rank, l.nOut), dtype);
    if (format === 'kohya') {
      const k = kohyaModuleName(l);
      tensors.push({ name: `${k}.alpha`, dtype, shape: [], bytes: encodeFloats([s.rank], dtype) });
      tensors.push({ name: `${k}.lora_down.weight`, dtype, shape: [s.rank, l.nIn], bytes: down });
      tensors.push({ name: `${k}.lora_up.weight`, dtype, shape: [l.nOut, s.rank], bytes: up });
    } else {
      const k = peftModuleName(l);
      tensors.push({ name: `${k}.lora_A.weight`, dtype, shape: [s.rank, l.nIn], bytes: down });
      tensors.push({ name: `${k}.lora_B.weight`, dtype, shape: [l.nOut, s.rank], bytes: up });
    }
  }
  const r = String(maxSlotRank(slots));
  const base: Record<string, string> = format === 'kohya'
    ? { ss_network_module: 'networks.lora', ss_network_dim: r, ss_network_alpha: r }
    : { format: 'pt' };
  return writeSafetensors(tensors, { ...base, ...opts.metadata });
}

/**
 * The personal weights multiplied out (D_aux·D_train, U_train·U_aux, and the residual beside them)
 * as a standard LoRA file: exactly the slots HyperBooth itself feeds.
 */
export function personalToLoraFile(weights: PersonalWeights, aux: AuxBases, layers: readonly LoraLayer[], format: LoraFormat, opts?: LoraExportOptions): Uint8Array {
  return exportLora(personalSlots(weights, aux, layers), layers, format, opts);
}

export interface LoraImportOptions {
  /** multiplies every layer's ΔW (the "LoRA weight" of A1111/ComfyUI); default 1 */
  strength?: number;
  /** PEFT files keep lora_alpha in adapter_config.json, not in the weights; default: the rank (scale 1) */
  peftAlpha?: number;
}

export interface LoraImport {
  format: LoraFormat | 'mixed';
  /** slots for the layers the file has; other layers are left to the caller (zero) */
  slots: LoraSlots;
  applied: string[];
  /** modules of the file this model has no slot for (convolutions, feed-forward, …), not applied */
  ignored: string[];
  /** one line each, for the UI */
  warnings: string[];
}

type Part = 'down' | 'up' | 'alpha';
interface Parsed { format: LoraFormat; module: string; part: Part }

const KOHYA = /^(lora_unet|lora_te[0-9]*)_([^.]+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
const KOHYA_OTHER = /^(lora_unet|lora_te[0-9]*)_([^.]+)\..+$/;
const PEFT = /^(unet|text_encoder(?:_[0-9]+)?)\.(.+)\.(?:(lora_A|lora_B)(?:\.[A-Za-z0-9_-]+)?\.weight|(alpha))$/;
/** q, k, v, out of an attention: the layers a LoRA for an SD-style model sets */
const ATTENTION_PROJECTION = /(?:attn[12][._]to_(?:q|k|v|out[._]0)|self_attn[._](?:q|k|v|out)_proj)$/;

function parseKey(key: string): Parsed | { other: string } | null {
  let m = KOHYA.exec(key);
  if (m) {
    const part: Part = m[3] === 'alpha' ? 'alpha' : m[3].startsWith('lora_down') ? 'down' : 'up';
    return { format: 'kohya', module: `${m[1]}_${m[2]}`, part };
  }
  m = PEFT.exec(key);
  if (m) return { format: 'peft', module: `${m[1]}.${m[2]}`, part: m[4] ? 'alpha' : m[3] === 'lora_A' ? 'down' : 'up' };
  m = KOHYA_OTHER.exec(key);
  if (m) return { other: `${m[1]}_${m[2]}` };
  return null;
}

interface Gathered { layer: LoraLayer; format: LoraFormat; module: string; down?: RawTensor; up?: RawTensor; alpha?: RawTensor }

/**
 * Reads a kohya or PEFT LoRA (.safetensors) into slot values for this model's layers. Attention
 * projections the model does not have, shape or rank disagreements, and non-finite values are
 * errors (the file is for another model or broken); modules we have no slot for (convolutions,
 * feed-forward, LoHa/LoKr parts) are listed in `ignored` and `warnings`.
 */
export function importLora(bytes: Uint8Array, layers: readonly LoraLayer[], opts: LoraImportOptions = {}): LoraImport {
  const fail = (code: LoraFileErrorCode, msg: string): never => {
    throw new LoraFileError(code, msg);
  };
  const file = rethrowSafetensors('LoRA file', (c, m, cause) => new LoraFileError(c, m, { cause }), () => readSafetensors(bytes));
  const strength = opts.strength ?? 1;
  if (!Number.isFinite(strength)) throw new RangeError(`strength ${strength} is not finite`);

  const byModule = new Map<string, LoraLayer>();
  for (const l of layers) {
    byModule.set(kohyaModuleName(l), l);
    byModule.set(peftModuleName(l), l);
  }

  const gathered = new Map<string, Gathered>();
  const unknown = new Set<string>();
  const ignored = new Set<string>();
  const unsupportedParts = new Set<string>();
  const unrecognized: string[] = [];
  for (const [key, t] of file.tensors) {
    const p = parseKey(key);
    if (!p) { unrecognized.push(key); continue; }
    if ('other' in p) {
      if (byModule.has(p.other)) unsupportedParts.add(key);
      else ignored.add(p.other);
      continue;
    }
    const layer = byModule.get(p.module);
    if (!layer) {
      (ATTENTION_PROJECTION.test(p.module) ? unknown : ignored).add(p.module);
      continue;
    }
    let g = gathered.get(layer.name);
    if (!g) gathered.set(layer.name, (g = { layer, format: p.format, module: p.module }));
    if (g.module !== p.module) fail('duplicate-layer', `layer ${layer.name} is given twice, as ${g.module} and as ${p.module}`);
    g[p.part] = t;
  }

  if (unknown.size) {
    const names = [...unknown];
    const otherModel = names.some((n) => /^lora_te[0-9]_|^text_encoder_[0-9]|input_blocks|output_blocks|middle_block/.test(n));
    fail('unknown-layer', `the LoRA sets ${names.length} attention layer${names.length > 1 ? 's' : ''} this model does not have${otherModel ? ' (it looks like a LoRA for SDXL or another model)' : ''}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`);
  }

  const slots: LoraSlots = new Map();
  const formats = new Set<LoraFormat>();
  for (const l of layers) {
    const g = gathered.get(l.name);
    if (!g) continue;
    formats.add(g.format);
    if (!g.down || !g.up) fail('missing-tensor', `${g.module} has ${g.down ? 'a down' : g.up ? 'an up' : 'only an alpha'} tensor without its ${g.down ? 'up' : 'down'} tensor`);
    const down = g.down!;
    const up = g.up!;
    const linearShape = (t: RawTensor) => (t.shape.length === 4 && t.shape[2] === 1 && t.shape[3] === 1 ? t.shape.slice(0, 2) : t.shape);
    const ds = linearShape(down);
    const us = linearShape(up);
    if (ds.length !== 2 || ds[1] !== l.nIn || ds[0] < 1) {
      fail('shape-mismatch', `${down.name} is ${JSON.stringify(down.shape)}, this model's layer needs [rank, ${l.nIn}] (a LoRA for another model?)`);
    }
    if (us.length !== 2 || us[0] !== l.nOut) {
      fail('shape-mismatch', `${up.name} is ${JSON.stringify(up.shape)}, this model's layer needs [${l.nOut}, rank] (a LoRA for another model?)`);
    }
    const rank = ds[0];
    if (us[1] !== rank) fail('rank-mismatch', `${g.module}: down has rank ${rank}, up has rank ${us[1]}`);
    const downW = floats(down, fail);
    const upW = floats(up, fail);
    let alpha = g.format === 'peft' && opts.peftAlpha !== undefined ? opts.peftAlpha : rank;
    if (g.alpha) {
      if (elementCount(g.alpha.shape) !== 1) fail('bad-shape', `${g.alpha.name} is ${JSON.stringify(g.alpha.shape)}, expected a scalar`);
      alpha = floats(g.alpha, fail)[0];
    }
    const scale = (alpha / rank) * strength;
    const slotDown = transpose(downW, rank, l.nIn);
    for (let i = 0; i < slotDown.length; i++) slotDown[i] *= scale;
    // alpha 3e38 or a large strength overflows float32 here, though every stored value is finite
    const overflow = outOfRangeMessage(`${down.name} × alpha/rank ${alpha}/${rank}${strength !== 1 ? ` × strength ${strength}` : ''}`, slotDown);
    if (overflow) fail('non-finite', overflow);
    slots.set(l.name, { rank, down: slotDown, up: transpose(upW, l.nOut, rank) });
  }

  if (slots.size === 0) {
    const hint = file.metadata.format === LIDB_FORMAT
      ? ' — this is a HyperBooth LiDB file; load it as a LiDB, not as a LoRA'
      : file.tensors.size === 0 ? ' — the file holds no tensors' : ` — first keys: ${[...file.tensors.keys()].slice(0, 3).map((k) => JSON.stringify(k.slice(0, 100))).join(', ')}`;
    fail('no-known-layers', `nothing in this file is a LoRA for this model's ${layers.length} layers${hint}`);
  }

  const warnings: string[] = [];
  if (ignored.size) warnings.push(`${ignored.size} LoRA module${ignored.size > 1 ? 's' : ''} this model has no slot for (not applied): ${[...ignored].slice(0, 8).join(', ')}${ignored.size > 8 ? ', …' : ''}`);
  if (unsupportedParts.size) warnings.push(`tensors of a LoRA variant that is not supported (not applied): ${[...unsupportedParts].slice(0, 8).join(', ')}${unsupportedParts.size > 8 ? ', …' : ''}`);
  if (unrecognized.length) warnings.push(`${unrecognized.length} tensor${unrecognized.length > 1 ? 's' : ''} not in kohya or PEFT naming (not applied): ${unrecognized.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 100))).join(', ')}${unrecognized.length > 5 ? ', …' : ''}`);
  return {
    format: formats.size > 1 ? 'mixed' : [...formats][0],
    slots,
    applied: [...slots.keys()],
    ignored: [...ignored],
    warnings,
  };
}

function floats(t: RawTensor, fail: (code: LoraFileErrorCode, msg: string) => never): Float32Array {
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && t.dtype !== 'F64') fail('bad-dtype', `${t.name} is ${t.dtype}, expected a float type`);
  const v = toFloat32(t);
  const bad = outOfRangeMessage(t.name, v);
  if (bad) fail('non-finite', bad);
  return v;
}

/** A plain LiDB (no residual) as a standard LoRA file. */
export function lidbToLoraFile(lidb: Lidb, aux: AuxBases, layers: readonly LoraLayer[], format: LoraFormat, opts?: LoraExportOptions): Uint8Array {
  return personalToLoraFile({ lidb }, aux, layers, format, opts);
}
