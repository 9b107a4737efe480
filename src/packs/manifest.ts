// manifest.json of a model pack: everything the pipeline needs to know about the graphs it
// runs, so no code hard-codes a model's sizes or names.

export const PACK_FORMAT = 'hyperbooth-pack/1';

export interface PackFile {
  /** path relative to the pack folder */
  path: string;
  size: number;
  /** lowercase hex */
  sha256: string;
}

export interface PackModel {
  /** the .onnx file (relative path) */
  file: string;
  /** external data files the graph refers to, by the `location` written in it */
  externalData?: string[];
}

export type LoraTarget = 'unet' | 'text_encoder';

export interface LoraLayer {
  /** diffusers module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q` */
  name: string;
  target: LoraTarget;
  nIn: number;
  nOut: number;
}

export interface PackManifest {
  format: typeof PACK_FORMAT;
  id: string;
  version: string;
  name: string;
  description?: string;
  image: { width: number; height: number };
  latent: { channels: number; width: number; height: number; scale: number };
  schedule: {
    numTrainTimesteps: number;
    betaStart: number;
    betaEnd: number;
    betaSchedule: 'linear' | 'scaled_linear';
    predictionType: 'epsilon' | 'v_prediction';
  };
  text: { maxLength: number; hiddenSize: number; inputDtype: 'int32' | 'int64' };
  unet: { timestepDtype: 'float32' | 'int64' | 'float16'; timestepShape: 'batch' | 'scalar' };
  /** VAE encoder output: `moments` = [mean, logvar] stacked on channels (take the mean) */
  vaeEncoderOutput: 'moments';
  /** the rare word that stands for the subject in prompts */
  trigger: string;
  tokenizer: string;
  models: {
    textEncoder: PackModel;
    unet: PackModel;
    vaeEncoder: PackModel;
    vaeDecoder: PackModel;
  };
  lora: { inputPrefix: 'lora.'; layers: LoraLayer[] };
  files: PackFile[];
}

/** Graph input names of a layer's LoRA slot. */
export function loraInputNames(layer: string): { down: string; up: string } {
  return { down: `lora.${layer}.down`, up: `lora.${layer}.up` };
}

export function validateManifest(m: unknown, source = 'manifest.json'): PackManifest {
  const fail = (why: string): never => { throw new Error(`${source}: ${why}`); };
  if (!m || typeof m !== 'object') fail('not a JSON object');
  const x = m as Partial<PackManifest>;
  if (x.format !== PACK_FORMAT) fail(`format is ${JSON.stringify(x.format)}, expected ${PACK_FORMAT}`);
  for (const k of ['id', 'version', 'name', 'trigger', 'tokenizer'] as const) {
    if (typeof x[k] !== 'string' || !x[k]) fail(`missing "${k}"`);
  }
  for (const k of ['textEncoder', 'unet', 'vaeEncoder', 'vaeDecoder'] as const) {
    if (!x.models?.[k]?.file) fail(`missing models.${k}.file`);
  }
  if (!Array.isArray(x.files) || x.files.length === 0) fail('missing "files"');
  const listed = new Set(x.files!.map((f) => f.path));
  const needed = [x.tokenizer!, ...Object.values(x.models!).flatMap((pm) => [pm.file, ...(pm.externalData ?? [])])];
  for (const f of needed) if (!listed.has(f)) fail(`file ${f} is used but not listed in "files"`);
  for (const f of x.files!) {
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) fail(`file ${f.path}: bad sha256`);
    if (!Number.isInteger(f.size) || f.size < 0) fail(`file ${f.path}: bad size`);
    if (f.path.includes('..') || f.path.startsWith('/')) fail(`file ${f.path}: path must stay inside the pack`);
  }
  if (!Array.isArray(x.lora?.layers)) fail('missing lora.layers');
  return x as PackManifest;
}
