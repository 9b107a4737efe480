// manifest.json of a model pack: everything the pipeline needs to know about the graphs it
// runs, so no code hard-codes a model's sizes or names.
import { TRIGGER_PLACEHOLDER, type StylePreset } from './stylePresets';

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
  /**
   * optional: what the graphs need at the pack's image size (hyperbooth pack's memory report), so
   * the app refuses a backend too small before downloading anything (src/packs/fit.ts)
   */
  requirements?: PackRequirements;
  /**
   * optional: the styles the app offers after personalization, each prompt holding `{trigger}`
   * (the embedded pack lists the styles it was trained on); absent means the usual presets
   */
  styles?: StylePreset[];
  files: PackFile[];
}

/** Graph input names of a layer's LoRA slot. */
export function loraInputNames(layer: string): { down: string; up: string } {
  return { down: `lora.${layer}.down`, up: `lora.${layer}.up` };
}

/** A manifest that cannot be used: `field` is the JSON path at fault (e.g. `files[3].size`). */
export class ManifestError extends Error {
  constructor(readonly source: string, readonly field: string, why: string) {
    super(`${source}: ${why}`);
    this.name = 'ManifestError';
  }
}

/**
 * Upper bounds on what a manifest may ask for. Far above SD1.5/SDXL (image 1024, latent 4×128,
 * 77 tokens, hidden 2048, ~200 LoRA layers, files ≤ 1.5 GiB each), far below what would make the
 * app allocate without limit or loop for long on a hostile manifest.
 */
export const MANIFEST_LIMITS = {
  files: 4096,
  /** one file is read into one ArrayBuffer */
  fileBytes: 2 ** 32,
  totalBytes: 2 ** 36,
  pathChars: 200,
  textChars: 200,
  descriptionChars: 4000,
  imageSide: 8192,
  latentChannels: 64,
  latentSide: 1024,
  maxLength: 1024,
  hiddenSize: 16384,
  numTrainTimesteps: 100_000,
  loraLayers: 4096,
  layerWidth: 65536,
  hypernetImageSize: 4096,
  refinementSteps: 1000,
  trainSteps: 100_000,
  rank: 1024,
  styles: 64,
} as const;

const MAX_NOTICE = 600;

/**
 * A pack path: segments of letters, digits, `_`, `-`, `.` (not leading), joined by `/`. Leaves
 * out everything a URL or a file system gives a meaning to (`..`, `%`, `\`, `:`, `?`, `#`).
 */
const PACK_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export function isPackPath(path: unknown): path is string {
  return typeof path === 'string' && path.length <= MANIFEST_LIMITS.pathChars && PACK_PATH.test(path);
}

/**
 * The URL of a pack file, which must lie under the pack's own folder `baseUrl` (ending in `/`):
 * checked again after URL resolution, so nothing the path allow-list misses can send a fetch
 * to another host or folder.
 */
export function packFileUrl(baseUrl: string, path: string): string {
  const refuse = (why: string): never => { throw new ManifestError(baseUrl, 'files', `file ${JSON.stringify(path)} ${why}`); };
  if (!isPackPath(path)) refuse('is not a plain path inside the pack (letters, digits, . _ - and / only)');
  const base = new URL(baseUrl);
  const url = new URL(path, base);
  if (url.protocol !== base.protocol || url.host !== base.host || !url.pathname.startsWith(base.pathname) || url.search || url.hash) {
    refuse(`resolves to ${url.href}, outside the pack at ${base.href}`);
  }
  return url.href;
}

type Fail = (field: string, why: string) => never;
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function validateCrop(crop: unknown, fail: Fail): void {
  if (crop !== undefined && !PACK_CROPS.includes(crop as PackCrop)) {
    fail('crop', `"crop" is ${JSON.stringify(crop)}: use ${PACK_CROPS.map((c) => JSON.stringify(c)).join(' or ')} (or leave it out for "face")`);
  }
}

/** The pack's crop, with the default for packs that do not say. */
export function packCrop(m: Pick<PackManifest, 'crop'>): PackCrop {
  return m.crop ?? 'face';
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** `v` as an object, or a failure naming `field`. */
function object(v: unknown, field: string, fail: Fail): Json {
  if (!isObject(v)) fail(field, `${field} must be an object, not ${describe(v)}`);
  return v as Json;
}

function count(v: unknown, field: string, max: number, fail: Fail): number {
  if (!isCount(v) || v > max) fail(field, `${field} = ${describe(v)} must be an integer in [1, ${max}]`);
  return v as number;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], fail: Fail): T {
  if (!allowed.includes(v as T)) fail(field, `${field} = ${describe(v)} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function text(v: unknown, field: string, max: number, fail: Fail): string {
  if (typeof v !== 'string' || !v) fail(field, `missing "${field}"`);
  if ((v as string).length > max) fail(field, `"${field}" is longer than ${max} characters`);
  return v as string;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export function validateManifest(m: unknown, source = 'manifest.json'): PackManifest {
  const fail: Fail = (field, why) => { throw new ManifestError(source, field, why); };
  if (!isObject(m)) return fail('', 'not a JSON object');
  if (m.format !== PACK_FORMAT) fail('format', `format is ${describe(m.format)}, expected ${PACK_FORMAT}`);
  for (const k of ['version', 'name', 'trigger'] as const) text(m[k], k, MANIFEST_LIMITS.textChars, fail);
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(text(m.id, 'id', MANIFEST_LIMITS.textChars, fail))) fail('id', `id ${describe(m.id)} may only hold letters, digits, '.', '_' and '-'`);
  if (m.description !== undefined) text(m.description, 'description', MANIFEST_LIMITS.descriptionChars, fail);
  if (m.notice !== undefined && (typeof m.notice !== 'string' || !m.notice.trim() || m.notice.length > MAX_NOTICE)) fail('notice', `"notice" must be a non-empty string of at most ${MAX_NOTICE} characters`);
  validateCrop(m.crop, fail);
  validateShapes(m, fail);
  const models = object(m.models, 'models', fail);
  for (const k of ['textEncoder', 'unet', 'vaeEncoder', 'vaeDecoder'] as const) {
    if (!isObject(models[k]) || !models[k].file) fail(`models.${k}`, `missing models.${k}.file`);
  }
  const files = validateFiles(m.files, fail);
  const listed = new Set(files.map((f) => f.path));
  if (m.hypernet !== undefined && !(isObject(m.hypernet) && isObject(m.hypernet.model) && m.hypernet.model.file)) fail('hypernet.model', 'missing hypernet.model.file');
  if (m.lidb !== undefined && !(isObject(m.lidb) && typeof m.lidb.aux === 'string' && m.lidb.aux)) fail('lidb.aux', 'missing lidb.aux');
  const train = m.train === undefined ? undefined : object(m.train, 'train', fail);
  if (train && !(isObject(train.unet) && train.unet.file)) fail('train.unet', 'missing train.unet.file');
  if (train && train.textEncoder !== undefined && !(isObject(train.textEncoder) && train.textEncoder.file)) fail('train.textEncoder', 'missing train.textEncoder.file');
  const layers = validateLayers(m.lora, fail);
  if (train && !train.textEncoder && layers.some((l) => l.target === 'text_encoder')) fail('train.textEncoder', 'missing train.textEncoder.file (lora.layers has text_encoder layers, which need the text-encoder gradient graph)');
  const x = m as unknown as PackManifest;
  const graphs: [string, PackModel][] = [
    ...Object.entries(x.models).filter(([k]) => ['textEncoder', 'unet', 'vaeEncoder', 'vaeDecoder'].includes(k)).map(([k, g]): [string, PackModel] => [`models.${k}`, g]),
    ...(x.hypernet ? [['hypernet.model', x.hypernet.model] as [string, PackModel]] : []),
    ...(x.train ? [['train.unet', x.train.unet] as [string, PackModel], ...(x.train.textEncoder ? [['train.textEncoder', x.train.textEncoder] as [string, PackModel]] : [])] : []),
  ];
  const needed: [string, unknown][] = [['tokenizer', text(m.tokenizer, 'tokenizer', MANIFEST_LIMITS.pathChars, fail)]];
  for (const [field, g] of graphs) {
    needed.push([`${field}.file`, g.file]);
    if (g.externalData !== undefined) {
      if (!Array.isArray(g.externalData) || g.externalData.length > MANIFEST_LIMITS.files) fail(`${field}.externalData`, `${field}.externalData must be a list of at most ${MANIFEST_LIMITS.files} paths`);
      g.externalData.forEach((p, i) => needed.push([`${field}.externalData[${i}]`, p]));
    }
  }
  if (x.lidb) needed.push(['lidb.aux', x.lidb.aux]);
  for (const [field, f] of needed) {
    if (typeof f !== 'string') fail(field, `${field} = ${describe(f)} must be a path`);
    if (!listed.has(f as string)) fail(field, `file ${f} is used but not listed in "files"`);
  }
  if (x.lidb !== undefined) validateLidb(x, fail);
  if (x.hypernet !== undefined) validateHypernet(x, fail);
  if (x.train !== undefined) validateTrain(x, fail);
  if (x.precision !== undefined) validatePrecision(x.precision, fail);
  if (x.requirements !== undefined) validateRequirements(x.requirements, fail);
  if (m.styles !== undefined) validateStyles(m.styles, fail);
  return x;
}

const STYLE_ID = /^[a-z0-9][a-z0-9-]*$/;

function validateStyles(v: unknown, fail: Fail): void {
  if (!Array.isArray(v) || v.length < 1 || v.length > MANIFEST_LIMITS.styles) fail('styles', `styles must be a list of 1 to ${MANIFEST_LIMITS.styles} styles`);
  const ids = new Set<string>();
  (v as unknown[]).forEach((s, i) => {
    const f = `styles[${i}]`;
    if (!isObject(s)) return fail(f, `${f} must be an object with id, label and prompt`);
    const id = text(s.id, `${f}.id`, MANIFEST_LIMITS.textChars, fail);
    if (!STYLE_ID.test(id)) fail(`${f}.id`, `${f}.id ${describe(id)} may only hold lower-case letters, digits and '-'`);
    if (ids.has(id)) fail(`${f}.id`, `${f}.id ${describe(id)} is listed twice`);
    ids.add(id);
    text(s.label, `${f}.label`, MANIFEST_LIMITS.textChars, fail);
    const prompt = text(s.prompt, `${f}.prompt`, MANIFEST_LIMITS.textChars, fail);
    // without the placeholder the style would draw anyone but the personalized subject
    if (!prompt.includes(TRIGGER_PLACEHOLDER)) fail(`${f}.prompt`, `${f}.prompt ${describe(prompt)} must contain ${TRIGGER_PLACEHOLDER}`);
  });
}

/** image, latent, schedule, text, unet and vaeEncoderOutput: sizes the app allocates by */
function validateShapes(m: Json, fail: Fail): void {
  const L = MANIFEST_LIMITS;
  const image = object(m.image, 'image', fail);
  count(image.width, 'image.width', L.imageSide, fail);
  count(image.height, 'image.height', L.imageSide, fail);
  const latent = object(m.latent, 'latent', fail);
  count(latent.channels, 'latent.channels', L.latentChannels, fail);
  count(latent.width, 'latent.width', L.latentSide, fail);
  count(latent.height, 'latent.height', L.latentSide, fail);
  if (typeof latent.scale !== 'number' || !(latent.scale > 0) || !Number.isFinite(latent.scale)) fail('latent.scale', `latent.scale = ${describe(latent.scale)} must be a positive number`);
  const schedule = object(m.schedule, 'schedule', fail);
  count(schedule.numTrainTimesteps, 'schedule.numTrainTimesteps', L.numTrainTimesteps, fail);
  const beta = (k: 'betaStart' | 'betaEnd') => {
    const v = schedule[k];
    if (typeof v !== 'number' || !(v > 0 && v < 1)) fail(`schedule.${k}`, `schedule.${k} = ${describe(v)} must be a number in (0, 1)`);
    return v as number;
  };
  if (beta('betaStart') > beta('betaEnd')) fail('schedule.betaStart', `schedule.betaStart ${describe(schedule.betaStart)} is above betaEnd ${describe(schedule.betaEnd)}`);
  oneOf(schedule.betaSchedule, 'schedule.betaSchedule', ['linear', 'scaled_linear'], fail);
  oneOf(schedule.predictionType, 'schedule.predictionType', ['epsilon', 'v_prediction'], fail);
  const t = object(m.text, 'text', fail);
  count(t.maxLength, 'text.maxLength', L.maxLength, fail);
  count(t.hiddenSize, 'text.hiddenSize', L.hiddenSize, fail);
  oneOf(t.inputDtype, 'text.inputDtype', ['int32', 'int64'], fail);
  const unet = object(m.unet, 'unet', fail);
  oneOf(unet.timestepDtype, 'unet.timestepDtype', ['float32', 'int64', 'float16'], fail);
  oneOf(unet.timestepShape, 'unet.timestepShape', ['batch', 'scalar'], fail);
  oneOf(m.vaeEncoderOutput, 'vaeEncoderOutput', ['moments'], fail);
}

function validateFiles(v: unknown, fail: Fail): PackFile[] {
  if (!Array.isArray(v) || v.length === 0) return fail('files', 'missing "files"');
  if (v.length > MANIFEST_LIMITS.files) fail('files', `"files" lists ${v.length} files, more than ${MANIFEST_LIMITS.files}`);
  const seen = new Set<string>();
  let total = 0;
  v.forEach((f: unknown, i) => {
    const field = `files[${i}]`;
    if (!isObject(f)) return fail(field, `${field} must be an object with path, size and sha256, not ${describe(f)}`);
    if (!isPackPath(f.path)) fail(`${field}.path`, `file ${describe(f.path)}: path must stay inside the pack (letters, digits, . _ - and /, at most ${MANIFEST_LIMITS.pathChars} characters)`);
    const path = f.path as string;
    if (seen.has(path)) fail(`${field}.path`, `file ${path} is listed twice`);
    seen.add(path);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) fail(`${field}.sha256`, `file ${path}: bad sha256`);
    if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) fail(`${field}.size`, `file ${path}: bad size ${describe(f.size)}`);
    if ((f.size as number) > MANIFEST_LIMITS.fileBytes) fail(`${field}.size`, `file ${path}: size ${f.size} is above the ${MANIFEST_LIMITS.fileBytes / 2 ** 30} GiB a file may have`);
    total += f.size as number;
  });
  if (total > MANIFEST_LIMITS.totalBytes) fail('files', `the files add up to ${total} bytes, above the ${MANIFEST_LIMITS.totalBytes / 2 ** 30} GiB a pack may have`);
  return v as PackFile[];
}

function validateLayers(lora: unknown, fail: Fail): LoraLayer[] {
  const o = object(lora, 'lora', fail);
  if (o.inputPrefix !== 'lora.') fail('lora.inputPrefix', `lora.inputPrefix = ${describe(o.inputPrefix)} must be "lora."`);
  if (!Array.isArray(o.layers)) return fail('lora.layers', 'missing lora.layers');
  if (o.layers.length > MANIFEST_LIMITS.loraLayers) fail('lora.layers', `lora.layers has ${o.layers.length} layers, more than ${MANIFEST_LIMITS.loraLayers}`);
  const names = new Set<string>();
  o.layers.forEach((l: unknown, i) => {
    const field = `lora.layers[${i}]`;
    if (!isObject(l)) return fail(field, `${field} must be an object, not ${describe(l)}`);
    if (typeof l.name !== 'string' || !/^[A-Za-z0-9_.]{1,200}$/.test(l.name)) fail(`${field}.name`, `${field}.name = ${describe(l.name)} must be a module path (letters, digits, _ and .)`);
    if (names.has(l.name as string)) fail(`${field}.name`, `lora layer ${l.name} is listed twice`);
    names.add(l.name as string);
    oneOf(l.target, `${field}.target`, ['unet', 'text_encoder'], fail);
    count(l.nIn, `${field}.nIn`, MANIFEST_LIMITS.layerWidth, fail);
    count(l.nOut, `${field}.nOut`, MANIFEST_LIMITS.layerWidth, fail);
  });
  return o.layers as LoraLayer[];
}

function validateLidb(m: PackManifest, fail: Fail): void {
  const l = m.lidb!;
  const entry = m.files.find((f) => f.path === l.aux);
  if (typeof l.auxSha256 !== 'string' || l.auxSha256 !== entry?.sha256) fail('lidb.auxSha256', `lidb.auxSha256 ${JSON.stringify(l.auxSha256)} is not the sha256 of ${l.aux} in "files"`);
  if (!Number.isSafeInteger(l.auxSeed) || l.auxSeed < 0) fail('lidb.auxSeed', `lidb.auxSeed ${JSON.stringify(l.auxSeed)} is not a non-negative integer`);
  let aMax = 0;
  let bMax = 0;
  for (const layer of m.lora.layers) {
    if (!isCount(layer.a) || layer.a > layer.nIn) fail(`lora layer ${layer.name}.a`, `lora layer ${layer.name}: a = ${JSON.stringify(layer.a)} must be an integer in [1, nIn = ${layer.nIn}]`);
    if (!isCount(layer.b) || layer.b > layer.nOut) fail(`lora layer ${layer.name}.b`, `lora layer ${layer.name}: b = ${JSON.stringify(layer.b)} must be an integer in [1, nOut = ${layer.nOut}]`);
    aMax = Math.max(aMax, layer.a!);
    bMax = Math.max(bMax, layer.b!);
  }
  if (l.aMax !== aMax || l.bMax !== bMax) fail('lidb.aMax', `lidb.aMax/bMax are ${l.aMax}/${l.bMax}, the layers' largest a/b are ${aMax}/${bMax}`);
}

function validateHypernet(m: PackManifest, fail: Fail): void {
  const h = m.hypernet!;
  if (!m.lidb) fail('hypernet', '"hypernet" needs "lidb" (its outputs are LiDB rows)');
  if (!isCount(h.imageSize) || h.imageSize > MANIFEST_LIMITS.hypernetImageSize) fail('hypernet.imageSize', `hypernet.imageSize ${JSON.stringify(h.imageSize)} is not a positive integer up to ${MANIFEST_LIMITS.hypernetImageSize}`);
  if (!isCount(h.refinementSteps) || h.refinementSteps > MANIFEST_LIMITS.refinementSteps) fail('hypernet.refinementSteps', `hypernet.refinementSteps ${JSON.stringify(h.refinementSteps)} is not a positive integer up to ${MANIFEST_LIMITS.refinementSteps}`);
  const triple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((c) => typeof c === 'number' && Number.isFinite(c));
  if (!triple(h.normalize?.mean)) fail('hypernet.normalize.mean', 'hypernet.normalize.mean must be three finite numbers (R, G, B)');
  if (!triple(h.normalize?.std) || !h.normalize.std.every((c) => c > 0)) fail('hypernet.normalize.std', 'hypernet.normalize.std must be three positive numbers (R, G, B)');
}

function validateTrain(m: PackManifest, fail: Fail): void {
  const d = m.train!.defaults;
  if (!m.lidb) fail('train', '"train" needs "lidb" (the fine-tune trains LiDB weights)');
  if (!isObject(d) || !isCount(d.steps) || d.steps > MANIFEST_LIMITS.trainSteps) fail('train.defaults.steps', `train.defaults.steps ${JSON.stringify(d?.steps)} is not a positive integer up to ${MANIFEST_LIMITS.trainSteps}`);
  if (!isCount(d.rank) || d.rank > MANIFEST_LIMITS.rank) fail('train.defaults.rank', `train.defaults.rank ${JSON.stringify(d.rank)} is not a positive integer up to ${MANIFEST_LIMITS.rank}`);
  if (typeof d.learningRate !== 'number' || !(d.learningRate > 0) || !Number.isFinite(d.learningRate)) fail('train.defaults.learningRate', `train.defaults.learningRate ${JSON.stringify(d.learningRate)} is not a positive number`);
}

export interface PackRequirements {
  imageSize: number;
  /** the largest single tensor of any graph: one GPU buffer, bound whole */
  largestTensorBytes: number;
  largestTensor: string;
  /** peak live bytes, weights included, of one UNet call at CFG batch 2 and of a fine-tune step */
  peakBytes: { generate: number; fineTuneStep: number };
  weightsBytes: { generate: number; fineTuneStep: number };
}

function validateRequirements(r: PackRequirements, fail: Fail): void {
  const bytes = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!isObject(r)) fail('requirements', 'requirements must be an object');
  if (!isCount(r.imageSize)) fail('requirements.imageSize', `requirements.imageSize ${JSON.stringify(r.imageSize)} is not a positive integer`);
  if (!bytes(r.largestTensorBytes)) fail('requirements.largestTensorBytes', 'requirements.largestTensorBytes is not a byte count');
  if (typeof r.largestTensor !== 'string') fail('requirements.largestTensor', 'requirements.largestTensor is not a name');
  for (const k of ['peakBytes', 'weightsBytes'] as const) {
    if (!isObject(r[k]) || !bytes(r[k].generate) || !bytes(r[k].fineTuneStep)) fail(`requirements.${k}`, `requirements.${k} needs byte counts generate and fineTuneStep`);
  }
}

function validatePrecision(p: PackPrecision, fail: Fail): void {
  const ok = (v: unknown) => v === 'float16' || v === 'float32';
  if (!isObject(p)) fail('precision', 'precision must be an object');
  if (!ok(p.weights)) fail('precision.weights', `precision.weights ${JSON.stringify(p?.weights)} is not float16 or float32`);
  if (!isObject(p.compute)) fail('precision.compute', 'precision.compute must be an object');
  for (const g of ['unet', 'textEncoder', 'vaeDecoder', 'vaeEncoder', 'train'] as const) {
    if (!ok(p.compute[g])) fail(`precision.compute.${g}`, `precision.compute.${g} ${JSON.stringify(p.compute?.[g])} is not float16 or float32`);
  }
}

/** manifest.json's bytes as every writer stores them (the CLI, tests, the browser's checkpoint import). */
export function manifestBytes(manifest: PackManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}
