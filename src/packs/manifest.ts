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
  /**
   * LiDB aux widths: D_aux is [nIn, a], U_aux [b, nOut]. Required on every layer when the pack
   * has `lidb` (kept here rather than in a second list so the one layer order — slots, aux file,
   * hypernetwork rows — cannot drift apart); the tiny pack uses a = min(100, nIn), b = min(50, nOut).
   */
  a?: number;
  b?: number;
}

/** The pack's LiDB support (HyperDreamBooth's frozen aux bases). */
export interface LidbSpec {
  /** the aux bases file: safetensors, format hyperbooth-lidb-aux/1, `<layer>.d_aux` / `<layer>.u_aux` */
  aux: string;
  /** sha256 of the aux file, which every LiDB file made for the pack records */
  auxSha256: string;
  /** the seed the aux bases were drawn with (makeAuxBases) */
  auxSeed: number;
  /** the largest a and b over lora.layers: the hypernetwork's row widths */
  aMax: number;
  bMax: number;
}

/** The hypernetwork: face crop → a rank-1 LiDB (I/O contract in src/models/hypernet.ts). */
export interface HypernetSpec {
  model: PackModel;
  /** pixel_values is [1, 3, imageSize, imageSize] */
  imageSize: number;
  /** pixel_values = (rgb/255 − mean) / std per channel, RGB order */
  normalize: { mean: [number, number, number]; std: [number, number, number] };
  /** refinement iterations unrolled in the graph (informational: the graph holds them) */
  refinementSteps: number;
}

/**
 * The fine-tune's graphs (made by the project's autodiff from the pack's slot UNet and text
 * encoder, src/finetune/trainGraphs.ts) and its default settings.
 */
export interface TrainSpec {
  /**
   * UNet train step: inputs sample, timestep, encoder_hidden_states, target (ε) and the UNet
   * LoRA slots; outputs loss (scalar MSE), `<slot>_grad` and encoder_hidden_states_grad. Batch 1.
   */
  unet: PackModel;
  /**
   * Text-encoder VJP: inputs input_ids, last_hidden_state_grad and the text-encoder LoRA slots;
   * outputs last_hidden_state and `<slot>_grad`. Batch 1. Required when lora.layers has
   * text_encoder layers; a pack whose LoRA covers the UNet only (hyperbooth pack without
   * --text-encoder-lora) has none.
   */
  textEncoder?: PackModel;
  defaults: { steps: number; rank: number; learningRate: number };
}

export type PrecisionGraph = 'unet' | 'textEncoder' | 'vaeDecoder' | 'vaeEncoder' | 'train';
export type Precision = 'float16' | 'float32';

/**
 * Which dtype the weights are stored in and each graph computes in. Every graph takes and gives
 * float32 whatever it computes in, so the app feeds a pack the same way either way.
 */
export interface PackPrecision {
  weights: Precision;
  compute: Record<PrecisionGraph, Precision>;
}

/**
 * How the app frames a selfie for the pack: `face` a close-up of the face with a little hair
 * (SD1.5 packs: the paper's crops), `portrait` the whole head-and-shoulders picture (the tiny
 * pack, trained on whole 64×64 portraits).
 */
export type PackCrop = 'face' | 'portrait';
export const PACK_CROPS: readonly PackCrop[] = ['face', 'portrait'];

export interface PackManifest {
  format: typeof PACK_FORMAT;
  id: string;
  version: string;
  name: string;
  description?: string;
  /**
   * optional: what a user should know before using the pack, shown beside the selfie upload
   * (e.g. that it was trained on synthetic portraits, so real photos are out of its domain)
   */
  notice?: string;
  /** optional: how the selfie is cropped for this pack; absent means `face` */
  crop?: PackCrop;
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
  /** optional until every pack ships aux bases; a pack without it cannot personalize */
  lidb?: LidbSpec;
  /** optional: without it personalization starts from a zero LiDB; needs `lidb` */
  hypernet?: HypernetSpec;
  /** optional: without it the pack can predict a LiDB but not fine-tune it; needs `lidb` */
  train?: TrainSpec;
  /** optional (informational): absent means float32 weights and compute */
  precision?: PackPrecision;
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
  if (x.notice !== undefined && (typeof x.notice !== 'string' || !x.notice.trim() || x.notice.length > MAX_NOTICE)) fail(`"notice" must be a non-empty string of at most ${MAX_NOTICE} characters`);
  validateCrop(x.crop, fail);
  if (!Array.isArray(x.files) || x.files.length === 0) fail('missing "files"');
  const listed = new Set(x.files!.map((f) => f.path));
  if (x.hypernet !== undefined && !x.hypernet?.model?.file) fail('missing hypernet.model.file');
  if (x.lidb !== undefined && (typeof x.lidb?.aux !== 'string' || !x.lidb.aux)) fail('missing lidb.aux');
  if (x.train !== undefined && !x.train?.unet?.file) fail('missing train.unet.file');
  if (x.train !== undefined && x.train.textEncoder !== undefined && !x.train.textEncoder?.file) fail('missing train.textEncoder.file');
  if (x.train !== undefined && !x.train.textEncoder && x.lora?.layers?.some?.((l) => l.target === 'text_encoder')) fail('missing train.textEncoder.file (lora.layers has text_encoder layers, which need the text-encoder gradient graph)');
  const graphs = [...Object.values(x.models!), ...(x.hypernet ? [x.hypernet.model] : []), ...(x.train ? [x.train.unet, ...(x.train.textEncoder ? [x.train.textEncoder] : [])] : [])];
  const needed = [x.tokenizer!, ...graphs.flatMap((pm) => [pm.file, ...(pm.externalData ?? [])])];
  if (x.lidb) needed.push(x.lidb.aux);
  for (const f of needed) if (!listed.has(f)) fail(`file ${f} is used but not listed in "files"`);
  for (const f of x.files!) {
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) fail(`file ${f.path}: bad sha256`);
    if (!Number.isInteger(f.size) || f.size < 0) fail(`file ${f.path}: bad size`);
    if (f.path.includes('..') || f.path.startsWith('/')) fail(`file ${f.path}: path must stay inside the pack`);
  }
  if (!Array.isArray(x.lora?.layers)) fail('missing lora.layers');
  if (x.lidb !== undefined) validateLidb(x as PackManifest, fail);
  if (x.hypernet !== undefined) validateHypernet(x as PackManifest, fail);
  if (x.train !== undefined) validateTrain(x as PackManifest, fail);
  if (x.precision !== undefined) validatePrecision(x.precision, fail);
  return x as PackManifest;
}

const MAX_NOTICE = 600;

function validateCrop(crop: unknown, fail: (why: string) => never): void {
  if (crop !== undefined && !PACK_CROPS.includes(crop as PackCrop)) {
    fail(`"crop" is ${JSON.stringify(crop)}: use ${PACK_CROPS.map((c) => JSON.stringify(c)).join(' or ')} (or leave it out for "face")`);
  }
}

/** The pack's crop, with the default for packs that do not say. */
export function packCrop(m: Pick<PackManifest, 'crop'>): PackCrop {
  return m.crop ?? 'face';
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

function validateLidb(m: PackManifest, fail: (why: string) => never): void {
  const l = m.lidb!;
  const entry = m.files.find((f) => f.path === l.aux);
  if (typeof l.auxSha256 !== 'string' || l.auxSha256 !== entry?.sha256) fail(`lidb.auxSha256 ${JSON.stringify(l.auxSha256)} is not the sha256 of ${l.aux} in "files"`);
  if (!Number.isSafeInteger(l.auxSeed) || l.auxSeed < 0) fail(`lidb.auxSeed ${JSON.stringify(l.auxSeed)} is not a non-negative integer`);
  let aMax = 0;
  let bMax = 0;
  for (const layer of m.lora.layers) {
    if (!isCount(layer.a) || layer.a > layer.nIn) fail(`lora layer ${layer.name}: a = ${JSON.stringify(layer.a)} must be an integer in [1, nIn = ${layer.nIn}]`);
    if (!isCount(layer.b) || layer.b > layer.nOut) fail(`lora layer ${layer.name}: b = ${JSON.stringify(layer.b)} must be an integer in [1, nOut = ${layer.nOut}]`);
    aMax = Math.max(aMax, layer.a!);
    bMax = Math.max(bMax, layer.b!);
  }
  if (l.aMax !== aMax || l.bMax !== bMax) fail(`lidb.aMax/bMax are ${l.aMax}/${l.bMax}, the layers' largest a/b are ${aMax}/${bMax}`);
}

function validateHypernet(m: PackManifest, fail: (why: string) => never): void {
  const h = m.hypernet!;
  if (!m.lidb) fail('"hypernet" needs "lidb" (its outputs are LiDB rows)');
  if (!isCount(h.imageSize)) fail(`hypernet.imageSize ${JSON.stringify(h.imageSize)} is not a positive integer`);
  if (!isCount(h.refinementSteps)) fail(`hypernet.refinementSteps ${JSON.stringify(h.refinementSteps)} is not a positive integer`);
  const triple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((c) => typeof c === 'number' && Number.isFinite(c));
  if (!triple(h.normalize?.mean)) fail('hypernet.normalize.mean must be three finite numbers (R, G, B)');
  if (!triple(h.normalize?.std) || !h.normalize.std.every((c) => c > 0)) fail('hypernet.normalize.std must be three positive numbers (R, G, B)');
}

function validateTrain(m: PackManifest, fail: (why: string) => never): void {
  const d = m.train!.defaults;
  if (!m.lidb) fail('"train" needs "lidb" (the fine-tune trains LiDB weights)');
  if (!d || !isCount(d.steps)) fail(`train.defaults.steps ${JSON.stringify(d?.steps)} is not a positive integer`);
  if (!isCount(d.rank)) fail(`train.defaults.rank ${JSON.stringify(d.rank)} is not a positive integer`);
  if (typeof d.learningRate !== 'number' || !(d.learningRate > 0) || !Number.isFinite(d.learningRate)) fail(`train.defaults.learningRate ${JSON.stringify(d.learningRate)} is not a positive number`);
}

function validatePrecision(p: PackPrecision, fail: (why: string) => never): void {
  const ok = (v: unknown) => v === 'float16' || v === 'float32';
  if (!ok(p?.weights)) fail(`precision.weights ${JSON.stringify(p?.weights)} is not float16 or float32`);
  for (const g of ['unet', 'textEncoder', 'vaeDecoder', 'vaeEncoder', 'train'] as const) {
    if (!ok(p.compute?.[g])) fail(`precision.compute.${g} ${JSON.stringify(p.compute?.[g])} is not float16 or float32`);
  }
}
