// What a .safetensors file is, from its key names, a few shapes and its metadata, before any
// tensor is read: SD1.x (accepted), or SDXL, SD2.x, an inpainting or v-prediction model, a
// LoRA, a lone VAE… (each refused with the reason and what to use instead).
import type { TensorEntry } from '../safetensors';
import { CheckpointError } from './errors';

const LORA_KEY = /(^lora_(unet|te\d?)_)|\.lora_(down|up|A|B)\.|\.hada_w\d|\.lokr_w\d|\.alpha$/;
const SD2_CONTEXT = 1024;
const SDXL_CONTEXT = 2048;

/** Refuses every model that is not SD1.x text-to-image with eps prediction, naming what it is. */
export function refuseUnsupported(file: string, entries: ReadonlyMap<string, TensorEntry>, metadata: Record<string, string>, unetPrefix: string): void {
  const keys = [...entries.keys()];
  const any = (re: RegExp) => keys.find((k) => re.test(k));
  if (any(/^conditioner\.embedders\./) || any(/(^|\.)add_embedding\.linear_1\./) || any(/^model\.diffusion_model\.label_emb\./)) {
    throw new CheckpointError('sdxl', `${file} is a Stable Diffusion XL model (it has ${any(/^conditioner\.embedders\./) ? 'conditioner.embedders.*, its two text encoders' : 'SDXL\'s size-and-crop embedding'}). HyperBooth runs Stable Diffusion 1.x (1.4, 1.5 and their fine-tunes): give an SD1.5-based .safetensors checkpoint.`);
  }
  const lora = any(LORA_KEY);
  const convIn = entries.get(`${unetPrefix}input_blocks.0.0.weight`) ?? entries.get(`${unetPrefix}conv_in.weight`);
  if (lora && !convIn) {
    throw new CheckpointError('lora', `${file} is a LoRA (keys like ${lora}), not a full model: it holds only changes to a model's layers. Give the SD1.5 checkpoint it was made for here, then apply the LoRA in the app with "Import LoRA (kohya / PEFT)".`);
  }
  if (any(/^cond_stage_model\.model\./)) {
    throw new CheckpointError('sd2', `${file} is a Stable Diffusion 2.x model (its text encoder is OpenCLIP: cond_stage_model.model.*). HyperBooth runs Stable Diffusion 1.x: give an SD1.5-based checkpoint.`);
  }
  for (const [k, e] of entries) {
    if (/attn2\.to_k\.weight$/.test(k) && (e.shape[1] === SD2_CONTEXT || e.shape[1] === SDXL_CONTEXT)) {
      throw new CheckpointError(e.shape[1] === SD2_CONTEXT ? 'sd2' : 'sdxl', `${file}: its UNet's cross-attention reads ${e.shape[1]}-wide text (${k}); Stable Diffusion 1.x reads 768. This is ${e.shape[1] === SD2_CONTEXT ? 'a Stable Diffusion 2.x' : 'an SDXL'} model: give an SD1.5-based checkpoint.`);
    }
  }
  if (convIn && convIn.shape.length === 4 && convIn.shape[1] !== 4) {
    if (convIn.shape[1] === 9) {
      throw new CheckpointError('inpainting', `${file} is an inpainting model: its UNet takes 9 input channels (latent, mask, masked image) where text-to-image takes 4. Personalization needs the text-to-image model: give the base SD1.5 checkpoint (or the non-inpainting version of this fine-tune).`);
    }
    throw new CheckpointError('not-sd1', `${file}: its UNet takes ${convIn.shape[1]} input channels, Stable Diffusion 1.x text-to-image takes 4 (an instruct/depth/edit variant?). Give a text-to-image SD1.5 checkpoint.`);
  }
  const pred = (metadata['modelspec.prediction_type'] ?? metadata.prediction_type ?? '').toLowerCase();
  if (entries.has('v_pred') || pred === 'v' || pred === 'v_prediction' || pred === 'v-prediction') {
    throw new CheckpointError('v-prediction', `${file} is a v-prediction model (${entries.has('v_pred') ? 'it has the v_pred key' : `its metadata says prediction_type ${pred}`}). HyperBooth's fine-tune and samplers take epsilon-prediction SD1.x models: give an epsilon model (SD1.5 and nearly all of its fine-tunes are).`);
  }
}
