// A checkpoint's tensors sorted into the three models, under the diffusers names the builders
// ask for: the single-file layout (model.diffusion_model.*, first_stage_model.*,
// cond_stage_model.transformer[.text_model].*) through ./names.ts, a diffusers folder as is.
// Everything else is listed as an extra, ignored or used (the schedule buffers).
import type { TensorEntry } from '../safetensors';
import { refuseUnsupported } from './classify';
import { CheckpointError } from './errors';
import { diffusersVaeName, unetDiffusersName, unetLayersPerBlock, vaeDiffusersName, vaeLevels } from './names';
import type { TensorIndex } from './safetensorsIndex';

export interface TensorRef { index: TensorIndex; entry: TensorEntry }

export type ModelPart = 'unet' | 'vae' | 'text_encoder';

export interface CheckpointTensors {
  /** per model: diffusers name → tensor */
  parts: Record<ModelPart, Map<string, TensorRef>>;
  /** keys outside the three models (schedule buffers, model_ema.*, …) */
  extras: Map<string, TensorRef>;
  /** keys inside a model that no graph uses (e.g. CLIP's position_ids buffer) */
  buffers: string[];
  /** file names, for messages */
  files: Record<ModelPart, string>;
  layout: 'single-file' | 'diffusers';
}

export const UNET_PREFIX = 'model.diffusion_model.';
const VAE_PREFIX = 'first_stage_model.';
const TEXT_PREFIX = 'cond_stage_model.transformer.';
/** keys that live inside the models but are not weights of the graphs */
const BUFFER = /(^|\.)position_ids$|^loss\./;

function unknownKeys(file: string, what: string, keys: string[]): never {
  throw new CheckpointError('not-sd1', `${file}: ${keys.length} ${what} tensor${keys.length > 1 ? 's' : ''} that Stable Diffusion 1.x does not have (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}): not an SD1.x model, or a variant HyperBooth does not know.`);
}

/** The single-file layout. */
export function splitSingleFile(index: TensorIndex): CheckpointTensors {
  const file = index.source.name;
  refuseUnsupported(file, index.entries, index.metadata, UNET_PREFIX);
  const unetKeys: string[] = [];
  const vaeKeys: string[] = [];
  const parts: CheckpointTensors['parts'] = { unet: new Map(), vae: new Map(), text_encoder: new Map() };
  const extras = new Map<string, TensorRef>();
  const buffers: string[] = [];
  for (const [k, entry] of index.entries) {
    const ref = { index, entry };
    if (k.startsWith(UNET_PREFIX)) unetKeys.push(k);
    else if (k.startsWith(VAE_PREFIX)) vaeKeys.push(k);
    else if (k.startsWith(TEXT_PREFIX)) {
      let name = k.slice(TEXT_PREFIX.length);
      // the older layout (transformers < 4.22 wrote no text_model level)
      if (!name.startsWith('text_model.')) name = `text_model.${name}`;
      if (BUFFER.test(name)) buffers.push(k);
      else parts.text_encoder.set(name, ref);
    } else extras.set(k, ref);
  }
  const missing = [
    ...(unetKeys.length ? [] : ['the UNet (model.diffusion_model.*)']),
    ...(vaeKeys.length ? [] : ['the VAE (first_stage_model.*)']),
    ...(parts.text_encoder.size ? [] : ['the CLIP text encoder (cond_stage_model.transformer.*)']),
  ];
  if (missing.length === 3) {
    const vaeOnly = index.entries.has('encoder.conv_in.weight') && index.entries.has('decoder.conv_in.weight');
    throw new CheckpointError('not-sd1', vaeOnly
      ? `${file} is a VAE on its own, not a whole Stable Diffusion checkpoint: give the SD1.5 checkpoint (a separate VAE cannot be added yet).`
      : `${file} has none of Stable Diffusion 1.x's parts (no model.diffusion_model.*, first_stage_model.* or cond_stage_model.* keys): not an SD1.x checkpoint in the original layout. A diffusers folder can be given as the folder.`);
  }
  if (missing.length) throw new CheckpointError('missing-part', `${file} lacks ${missing.join(' and ')}: give a whole SD1.x checkpoint (UNet, VAE and text encoder in one file) or a diffusers folder.`);

  const stripped = unetKeys.map((k) => k.slice(UNET_PREFIX.length));
  const layers = unetLayersPerBlock(stripped) ?? stripped.filter((k) => /^input_blocks\.\d+\.0\.in_layers\.0\.weight$/.test(k)).length;
  const bad: string[] = [];
  stripped.forEach((k, i) => {
    const name = unetDiffusersName(k, layers);
    if (name) parts.unet.set(name, { index, entry: index.entries.get(unetKeys[i])! });
    else bad.push(unetKeys[i]);
  });
  if (bad.length) unknownKeys(file, 'UNet', bad);
  const vaeStripped = vaeKeys.map((k) => k.slice(VAE_PREFIX.length));
  const levels = vaeLevels(vaeStripped);
  vaeStripped.forEach((k, i) => {
    if (BUFFER.test(k)) { buffers.push(vaeKeys[i]); return; }
    const name = vaeDiffusersName(k, levels);
    if (name) parts.vae.set(name, { index, entry: index.entries.get(vaeKeys[i])! });
    else bad.push(vaeKeys[i]);
  });
  if (bad.length) unknownKeys(file, 'VAE', bad);
  return { parts, extras, buffers, files: { unet: file, vae: file, text_encoder: file }, layout: 'single-file' };
}

/** A diffusers folder: one file per model, already named as the builders name their parameters. */
export function splitDiffusers(unet: TensorIndex, vae: TensorIndex, text: TensorIndex): CheckpointTensors {
  refuseUnsupported(unet.source.name, unet.entries, unet.metadata, '');
  const parts: CheckpointTensors['parts'] = { unet: new Map(), vae: new Map(), text_encoder: new Map() };
  const buffers: string[] = [];
  for (const [k, entry] of unet.entries) parts.unet.set(k, { index: unet, entry });
  for (const [k, entry] of vae.entries) parts.vae.set(diffusersVaeName(k), { index: vae, entry });
  for (const [k, entry] of text.entries) {
    if (BUFFER.test(k)) buffers.push(k);
    else parts.text_encoder.set(k, { index: text, entry });
  }
  return { parts, extras: new Map(), buffers, files: { unet: unet.source.name, vae: vae.source.name, text_encoder: text.source.name }, layout: 'diffusers' };
}
