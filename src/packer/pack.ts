// `hyperbooth pack`: a Stable Diffusion 1.5 ONNX export (diffusers or optimum layout) → a
// HyperBooth model pack: LoRA slots on every attention projection, the fine-tune's train
// graphs from the project's autodiff, the LiDB aux bases, tokenizer.json, the weights in
// browser-sized chunks, and a manifest with sizes and sha256. Graphs are converted one at a
// time and weights copied one tensor at a time, into a staging folder that replaces --out
// only when everything succeeded.
import { STYLE_PRESETS } from '../pipeline/stylePresets';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { encodeModel, onnx, tensorDims, type ExternalDataReader, type ModelProto } from '../onnx';
import { convertToFloat16 } from '../onnx/toFloat16';
import { buildTextEncoderGradModel, buildUnetTrainModel } from '../finetune/trainGraphs';
import { LORA_RANK_DIM } from '../models/layers';
import { chunkAttention, chunkRecomputeSegments } from './attentionChunks';
import { MemoryReportError } from './memory';
import { holdWeightsOnce } from './weightsOnce';
import { dimsForInputs, memoryReport, type MemoryReport, type PackGraphs } from './memoryReport';
import { tokenizerFromVocabMerges, type ClipTokenizerJson } from '../diffusion/tokenizerBuild';
import { ClipTokenizer } from '../diffusion/tokenizer';
import { auxDims } from '../lidb/layers';
import { makeAuxBases, writeAuxFile } from '../lidb/aux';
import { CLIP_NORMALIZE } from '../models/hypernet';
import { PACK_FORMAT, validateManifest, type LoraLayer, type PackFile, type PackManifest, type PackModel, type PackPrecision } from '../packs/manifest';
import { manifestBytes } from '../packs/writePack';
import { ChunkWriter, DEFAULT_CHUNK_BYTES, EXTERNAL_THRESHOLD_BYTES, externalizeWeights, type WeightReader } from './chunks';
import { PackInputError } from './errors';
import { storeWeightsAsFp16 } from './fp16';
import { folderSink } from './folderSink';
import { putFile, type PackSink } from './sink';
import { declareOutput, keepOutputs, pinInputDims, renameValue } from './graphEdit';
import { checkHypernet, loadHypernet } from './hypernet';
import { checkPlainExport, inspectTextEncoder, inspectUnet, relaxTimestepBatch, vaeMomentsValue, vaeScaleFactor, type TextFacts, type UnetFacts } from './inspect';
import { addLoraSlots, checkLayerCount, hasSd15Dimensions, type CountCheck } from './layers';
import { locateExport, readJsonFile, type ExportParts, type GraphPart } from './layout';
import { loadSourceGraph } from './source';
import { opsLackingOnWebgpu } from './webgpuOps';

/** Seed of the aux bases unless --aux-seed says otherwise: packs of the same base model then share bases. */
export const DEFAULT_AUX_SEED = 2307;
/** HyperDreamBooth's fast fine-tune (§3.3: ~40 steps at a relaxed rank); rank and rate as the tiny pack's until measured on SD1.5. */
export const DEFAULT_TRAIN = { steps: 40, rank: 4, learningRate: 1e-3 } as const;
export const DEFAULT_TRIGGER = 'sks';
const SD15_CONTEXT_DIM = 768;
const SD15_LATENT_SIZE = 64;

export interface PackOptions {
  /** the export folder */
  from: string;
  /** the pack folder to write (replaced if it exists) */
  out: string;
  id?: string;
  name?: string;
  fp16?: boolean;
  /** LoRA slots (and the gradient graph) on the text encoder too */
  textEncoderLora?: boolean;
  /** a hypernetwork .onnx to check and copy in */
  hypernet?: string;
  /** hypernet.refinementSteps for the manifest (informational: the graph holds them) */
  hypernetRefinementSteps?: number;
  /** largest external-data file (default 512 MiB) */
  chunkBytes?: number;
  /** image side in pixels when the export does not say (static dims or unet/config.json) */
  imageSize?: number;
  trigger?: string;
  auxSeed?: number;
  train?: { steps: number; rank: number; learningRate: number };
  /** UNet train graph recomputes block activations in the backward pass (less memory, a little more time) */
  recompute?: boolean;
  /** UNet attention whose scores at CFG batch 2 exceed this many bytes is split over query blocks (default 64 MiB) */
  attentionChunkBytes?: number;
  /** progress lines */
  log?: (line: string) => void;
  /** stops the conversion between tensors (the staging folder is removed) */
  signal?: AbortSignal;
}

/** How the weights were converted; written to manifest.json as "conversion" (the app ignores it). */
export interface PackConversion {
  tool: 'hyperbooth pack';
  source: { folder: string; storage: Record<GraphPart, string> };
  /** dtype of the stored weights */
  weights: 'float32' | 'float16';
  /** dtype the forward graphs (UNet, text encoder, VAE) compute in; the train graphs compute in float32 (manifest.precision has it per graph) */
  compute: 'float32' | 'float16';
  /** float16 weights: which initializers (float32, at least this many bytes) were stored as float16 */
  fp16MinBytes?: number;
  /** float16 weights: what that means when the pack runs */
  note?: string;
  chunkBytes: number;
  /** the export declared timestep as a static [1]; the pack takes one per sample */
  timestepRelaxed?: boolean;
  /** the UNet train graph recomputes block activations in its backward pass */
  recompute?: 'auto';
  /** UNet attentions split over query blocks (their scores at CFG batch 2 exceeded attentionChunkBytes) */
  attentionChunks?: { maxScoreBytes: number; attentions: number };
  /** a .safetensors checkpoint or diffusers folder: what was read and how */
  checkpoint?: CheckpointConversion;
}

/** What `hyperbooth pack --from model.safetensors` read (src/checkpoint), for the manifest and the summary. */
export interface CheckpointConversion {
  layout: 'single-file' | 'diffusers';
  /** tensor dtypes in the file(s), with counts; all converted to float32 as read */
  dtypes: Record<string, number>;
  /** where the noise schedule came from */
  schedule: string;
  tokenizer: string;
  /** keys read besides the weights (e.g. betas) */
  used: string[];
  /** keys ignored (schedule buffers not needed, model_ema.*, position_ids, …) */
  ignored: string[];
}

export type ConvertedManifest = PackManifest & { conversion: PackConversion };

export interface PartReport {
  part: GraphPart;
  source: string;
  storage: string;
  /** float weights in the forward graph */
  parameters: number;
  /** LoRA layers found (UNet; text encoder with --text-encoder-lora) */
  layers?: number;
  countCheck?: CountCheck;
  /** ops the WebGPU EP lacks, over the part's forward and train graphs */
  lackingOps: Map<string, number>;
  files: PackFile[];
  ms: number;
}

export interface PackResult {
  dir: string;
  manifest: ConvertedManifest;
  parts: PartReport[];
  warnings: string[];
  /** all files plus manifest.json */
  totalBytes: number;
  ms: number;
  /** what each graph needs at the pack's image size (null when it could not be sized: the reason is a warning) */
  memory: MemoryReport | null;
}

export interface PackContext {
  opts: PackOptions;
  /** where the pack's files go (a staging folder in Node) */
  sink: PackSink;
  chunkBytes: number;
  fp16: boolean;
  warnings: string[];
  log: (line: string) => void;
  reports: PartReport[];
  /** the graphs as written, for the memory report */
  graphs: Partial<PackGraphs>;
  /** set when the UNet's attention was split over query blocks */
  attentionChunks?: { maxScoreBytes: number; attentions: number };
}

const now = () => performance.now();
/**
 * The forward graphs go through convertToFloat16; the train graphs read the same float16 weights
 * through a Cast to float32 each, computed where it is used (holdWeightsOnce: onnxruntime would
 * fold them into float32 copies at session creation), so the weights are stored and held once
 * and the fine-tune's gradients stay float32.
 */
const FP16_NOTE = 'weights are stored once, as float16. The UNet, text encoder and VAE graphs compute in float16 (normalizations, the LayerNorm variance and the timestep embedding stay float32; inputs and outputs are float32). The train graphs cast each float16 weight to float32 where it is used and compute in float32; the casts are kept from onnxruntime\'s constant folding (src/packer/weightsOnce.ts), so a train session holds the float16 weights once';
const FP16_MIN_BYTES = EXTERNAL_THRESHOLD_BYTES;

export async function packExport(opts: PackOptions): Promise<PackResult> {
  const parts = locateExport(opts.from);
  return writePackStaged(opts, parts.dir, (ctx, id, t0) => convert(ctx, parts, id, t0));
}

/**
 * Runs `build` against a staging folder beside --out and swaps it in only when everything
 * succeeded, so a refused or failed conversion leaves --out as it was. Both inputs (an ONNX
 * export here, a checkpoint in src/checkpoint) write their packs through this.
 */
export async function writePackStaged(
  opts: PackOptions, sourcePath: string, build: (ctx: PackContext, id: string, t0: number) => Promise<Omit<PackResult, 'dir'>>,
): Promise<PackResult> {
  const t0 = now();
  const out = resolve(opts.out);
  if (resolve(sourcePath) === out) throw new PackInputError('options', '--out must not be the --from path');
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const id = opts.id ?? basename(out);
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(id)) throw new PackInputError('options', `pack id "${id}" may only hold letters, digits, '.', '_' and '-' (give --id)`);
  const staging = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const ctx: PackContext = {
    opts, sink: folderSink(staging), chunkBytes, fp16: !!opts.fp16, warnings: [], reports: [], graphs: {},
    log: opts.log ?? (() => undefined),
  };
  try {
    const result = await build(ctx, id, t0);
    replaceFolder(staging, out);
    return { ...result, dir: out };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

async function convert(ctx: PackContext, parts: ExportParts, id: string, t0: number): Promise<Omit<PackResult, 'dir'>> {
  const { opts } = ctx;
  const schedule = readSchedule(parts.schedulerConfig);
  const tokenizer = readTokenizer(parts);

  // The UNet's graph is small (its weights stay on disk), so its checks come first: an
  // optimized or broken export is refused before anything is converted.
  const unetSrc = loadSourceGraph(parts.graphs.unet, parts.dir);
  checkPlainExport(unetSrc.model, unetSrc.name);
  const unetFacts = inspectUnet(unetSrc.model, unetSrc.name);
  let unetModel = keepOutputs(unetSrc.model, ['out_sample']);
  if (unetFacts.timestepWasStaticOne) {
    unetModel = relaxTimestepBatch(unetModel);
    ctx.warnings.push(`${unetSrc.name}: timestep was declared [1]; the pack declares it per sample (generate() batches the negative and positive prompt)`);
  }
  const unetSlots = addLoraSlots(unetModel, 'unet', unetSrc.name);
  const unetCount = checkLayerCount('unet', unetSlots.layers, hasSd15Dimensions('unet', unetSlots.layers));
  if (unetCount.level === 'error') throw new PackInputError('layer-count', `${unetSrc.name}: ${unetCount.message}`);
  if (unetCount.level === 'warning') ctx.warnings.push(`${unetSrc.name}: ${unetCount.message}`);
  ctx.log(`${unetSrc.name}: ${unetCount.message}`);

  const text = await convertTextEncoder(ctx, parts, tokenizer);
  if (text.hiddenSize !== unetFacts.contextDim) {
    throw new PackInputError('io', `the text encoder's width ${text.hiddenSize} differs from the UNet's cross-attention width ${unetFacts.contextDim}: the parts come from different models`);
  }
  const vaeDecoder = await convertVae(ctx, parts, 'vae_decoder');
  const vaeEncoder = await convertVae(ctx, parts, 'vae_encoder');
  const geometry = imageGeometry(ctx, parts, unetFacts, vaeDecoder.scale);
  if (vaeEncoder.latentChannels !== undefined && vaeEncoder.latentChannels !== 2 * unetFacts.latentChannels) {
    throw new PackInputError('io', `the VAE encoder gives ${vaeEncoder.latentChannels} moment channels, the UNet takes ${unetFacts.latentChannels} latent channels (expected twice as many moments)`);
  }
  const unet = await writeUnetPart(ctx, unetSrc, unetFacts, unetSlots.model, unetSlots.layers, unetCount, geometry.latent, text.maxLength);
  const storage = Object.fromEntries(ctx.reports.map((r) => [r.part, r.storage])) as Record<GraphPart, string>;
  return finishPack(ctx, id, t0, {
    schedule, tokenizer: tokenizer.json, text, vaeEncoder, vaeDecoder, unet, unetLayers: unetSlots.layers, geometry,
    latentChannels: unetFacts.latentChannels, timestepDtype: unetFacts.timestepDtype, timestepShape: unetFacts.timestepShape,
    timestepRelaxed: unetFacts.timestepWasStaticOne,
    source: { folder: basename(parts.dir), storage },
    name: `Stable Diffusion (${basename(parts.dir)})`,
    description: `Converted by hyperbooth pack from the ONNX export ${basename(parts.dir)}${ctx.fp16 ? ', float16 weights' : ''}`,
  });
}

/** What finishPack needs from the converted parts, whatever the input was. */
export interface FinishedParts {
  schedule: PackManifest['schedule'];
  tokenizer: ClipTokenizerJson;
  text: Converted & { layers: LoraLayer[]; grad?: PackModel; maxLength: number; hiddenSize: number; inputDtype: PackManifest['text']['inputDtype'] };
  vaeEncoder: Converted;
  vaeDecoder: Converted;
  unet: Converted & { train: PackModel };
  unetLayers: LoraLayer[];
  geometry: { latent: number; image: number; scale: number };
  latentChannels: number;
  timestepDtype: PackManifest['unet']['timestepDtype'];
  timestepShape: PackManifest['unet']['timestepShape'];
  timestepRelaxed?: boolean;
  source: PackConversion['source'];
  checkpoint?: CheckpointConversion;
  name: string;
  description: string;
}

/** Tokenizer, LiDB aux bases, hypernetwork and manifest: the rest of the pack once the graphs are written. */
export function finishPack(ctx: PackContext, id: string, t0: number, p: FinishedParts): Omit<PackResult, 'dir'> {
  const { opts } = ctx;
  const { text, vaeDecoder, vaeEncoder, unet, geometry } = p;


  const layers: LoraLayer[] = [...p.unetLayers, ...text.layers].map((l) => ({ ...l, ...auxDims(l) }));
  const files: PackFile[] = [...text.files, ...vaeDecoder.files, ...vaeEncoder.files, ...unet.files];
  const put = (path: string, bytes: Uint8Array) => { files.push(putFile(ctx.sink, path, bytes)); };

  put('tokenizer/tokenizer.json', new TextEncoder().encode(`${JSON.stringify(p.tokenizer)}\n`));
  const auxSeed = opts.auxSeed ?? DEFAULT_AUX_SEED;
  const aux = writeAuxFile(makeAuxBases(layers, auxSeed), { dtype: ctx.fp16 ? 'F16' : 'F32' });
  put('lidb/aux.safetensors', aux);
  const aMax = Math.max(...layers.map((l) => l.a!));
  const bMax = Math.max(...layers.map((l) => l.b!));

  let hypernet: PackManifest['hypernet'];
  if (opts.hypernet) {
    const check = checkHypernet(loadHypernet(opts.hypernet), layers.length, aMax, bMax);
    put('hypernet/model.onnx', check.bytes);
    hypernet = { model: { file: 'hypernet/model.onnx' }, imageSize: check.imageSize, normalize: CLIP_NORMALIZE, refinementSteps: opts.hypernetRefinementSteps ?? 4 };
    ctx.log(`hypernetwork ${opts.hypernet}: pixel_values [1, 3, ${check.imageSize}, ${check.imageSize}] → lidb_down [${layers.length}, ${aMax}], lidb_up [${layers.length}, ${bMax}]: matches the pack`);
  }

  const conversion: PackConversion = {
    tool: 'hyperbooth pack',
    source: p.source,
    weights: ctx.fp16 ? 'float16' : 'float32',
    compute: ctx.fp16 ? 'float16' : 'float32',
    ...(ctx.fp16 ? { fp16MinBytes: FP16_MIN_BYTES, note: FP16_NOTE } : {}),
    chunkBytes: ctx.chunkBytes,
    ...(p.timestepRelaxed ? { timestepRelaxed: true } : {}),
    ...(opts.recompute ? { recompute: 'auto' as const } : {}),
    ...(p.checkpoint ? { checkpoint: p.checkpoint } : {}),
    ...(ctx.attentionChunks ? { attentionChunks: ctx.attentionChunks } : {}),
  };
  const draft = {
    format: PACK_FORMAT,
    id,
    version: '1.0.0',
    name: opts.name ?? p.name,
    description: p.description,
    image: { width: geometry.image, height: geometry.image },
    latent: { channels: p.latentChannels, width: geometry.latent, height: geometry.latent, scale: geometry.scale },
    schedule: p.schedule,
    text: { maxLength: text.maxLength, hiddenSize: text.hiddenSize, inputDtype: text.inputDtype },
    unet: { timestepDtype: p.timestepDtype, timestepShape: p.timestepShape },
    vaeEncoderOutput: 'moments' as const,
    trigger: opts.trigger ?? DEFAULT_TRIGGER,
    tokenizer: 'tokenizer/tokenizer.json',
    models: { textEncoder: text.model, unet: unet.model, vaeEncoder: vaeEncoder.model, vaeDecoder: vaeDecoder.model },
    lora: { inputPrefix: 'lora.' as const, layers },
    lidb: { aux: 'lidb/aux.safetensors', auxSha256: sha256(aux), auxSeed, aMax, bMax },
    ...(hypernet ? { hypernet } : {}),
    train: {
      unet: unet.train,
      ...(text.grad ? { textEncoder: text.grad } : {}),
      defaults: { ...(opts.train ?? DEFAULT_TRAIN) },
    },
    precision: packPrecision(ctx.fp16),
    // an SD1.5 model knows these prompts; the app offers them as the pack's styles
    styles: STYLE_PRESETS.map((p) => ({ ...p })),
    conversion,
  };
  const lacking = new Map<string, string[]>();
  for (const r of ctx.reports) for (const op of r.lackingOps.keys()) lacking.set(op, [...(lacking.get(op) ?? []), r.part]);
  if (lacking.size) {
    const list = [...lacking].sort(([a], [b]) => a.localeCompare(b)).map(([op, ps]) => `${op} (${ps.sort().join(', ')})`);
    ctx.warnings.push(`the WebGPU EP lacks ${list.join(', ')}: those nodes run on the CPU EP, with copies between GPU and CPU memory around them`);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest = validateManifest({ ...draft, files }, `pack ${id}`) as ConvertedManifest;
  const mBytes = manifestBytes(manifest);
  ctx.sink.writeFile('manifest.json', mBytes);
  const totalBytes = files.reduce((s, f) => s + f.size, 0) + mBytes.byteLength;
  const memory = packMemory(ctx, manifest);
  return { manifest, parts: ctx.reports, warnings: ctx.warnings, totalBytes, ms: now() - t0, memory };
}

const DEFAULT_ATTENTION_CHUNK_BYTES = 64 * 2 ** 20;
const MEMORY_RANK_FALLBACK = 4;

/**
 * Splits UNet attention over query blocks where its scores at CFG batch 2 (the largest batch the
 * pipeline runs) exceed the threshold; the train graph then recomputes each block's scores.
 */
function chunkUnetAttention(ctx: PackContext, unet: ModelProto, facts: Pick<UnetFacts, 'latentChannels' | 'contextDim'>, latent: number, textLength: number): { model: ModelProto; attentions: number; maxScoreBytes: number } {
  const maxScoreBytes = ctx.opts.attentionChunkBytes ?? DEFAULT_ATTENTION_CHUNK_BYTES;
  const { latentChannels: channels, contextDim: textWidth } = facts;
  const dims = dimsForInputs(unet, 'UNet', { sample: [2, channels, latent, latent], timestep: [2], encoder_hidden_states: [2, textLength, textWidth] }, { [LORA_RANK_DIM]: (ctx.opts.train ?? DEFAULT_TRAIN).rank });
  const { model, chunked } = chunkAttention(unet, { maxScoreBytes, dims, ...(ctx.fp16 ? { floatDtype: 'float16' as const } : {}) });
  if (chunked.length) ctx.log(`UNet: ${chunked.length} attentions split over query blocks (scores up to ${(Math.max(...chunked.map((c) => c.wholeBytes)) / 2 ** 20).toFixed(0)} MiB at batch 2 → blocks of ≤ ${(maxScoreBytes / 2 ** 20).toFixed(0)} MiB)`);
  return { model, attentions: chunked.length, maxScoreBytes };
}

function packMemory(ctx: PackContext, manifest: PackManifest): MemoryReport | null {
  const g = ctx.graphs;
  if (!g.unet || !g.textEncoder || !g.vaeEncoder || !g.vaeDecoder) return null;
  try {
    const report = memoryReport(g as PackGraphs, {
      imageSize: manifest.image.width, vaeScale: manifest.image.width / manifest.latent.width, textLength: manifest.text.maxLength,
      rank: manifest.train?.defaults.rank ?? MEMORY_RANK_FALLBACK, latentChannels: manifest.latent.channels, textWidth: manifest.text.hiddenSize,
    });
    for (const u of report.unsized ?? []) ctx.warnings.push(`memory report: ${u}`);
    return report;
  } catch (e) {
    if (!(e instanceof MemoryReportError)) throw e;
    ctx.warnings.push(`memory report: ${e.message}`);
    return null;
  }
}

// ------------------------------------------------------------------------------------------

export interface Converted {
  model: PackModel;
  files: PackFile[];
}

/**
 * Where a graph's external weights are read from: an ONNX export's files (synchronously) or a
 * checkpoint's tensors (possibly asynchronously, e.g. File.slice in a browser). Small
 * tensors are inline in the graph, so only the chunk writer reads through this.
 */
export interface GraphSource {
  /** for messages and the summary */
  name: string;
  storage: string;
  readExternal?: ExternalDataReader;
  readWeights?: WeightReader;
  /** called after each tensor is copied (progress) */
  onTensor?: (name: string, bytes: number) => void;
}

async function convertTextEncoder(ctx: PackContext, parts: ExportParts, tokenizer: { json: ClipTokenizerJson; maxId: number; maxLength?: number }): Promise<FinishedParts['text']> {
  const t0 = now();
  const src = loadSourceGraph(parts.graphs.text_encoder, parts.dir);
  checkPlainExport(src.model, src.name);
  const facts = inspectTextEncoder(src.model, src.name);
  if (facts.vocabSize !== null && tokenizer.maxId >= facts.vocabSize) {
    throw new PackInputError('io', `the tokenizer has ids up to ${tokenizer.maxId} but ${src.name}'s token embedding has ${facts.vocabSize} rows: they come from different models`);
  }
  const maxLength = Math.min(tokenizer.maxLength ?? 77, facts.maxPositions ?? 77);
  let model = keepOutputs(src.model, ['last_hidden_state']);
  let layers: LoraLayer[] = [];
  let countCheck: CountCheck | undefined;
  if (ctx.opts.textEncoderLora) {
    const slotted = addLoraSlots(model, 'text_encoder', src.name);
    countCheck = checkLayerCount('text_encoder', slotted.layers, hasSd15Dimensions('text_encoder', slotted.layers, facts.vocabSize));
    if (countCheck.level === 'error') throw new PackInputError('layer-count', `${src.name}: ${countCheck.message}`);
    if (countCheck.level === 'warning') ctx.warnings.push(`${src.name}: ${countCheck.message}`);
    ctx.log(`${src.name}: ${countCheck.message}`);
    model = slotted.model;
    layers = slotted.layers;
  }
  const written = await writeTextEncoderPart(ctx, src, model, layers, countCheck, maxLength, t0);
  return { ...written, layers, maxLength, hiddenSize: facts.hiddenSize, inputDtype: facts.inputDtype };
}

/** The text encoder's forward graph (and, with LoRA layers, its gradient graph) into text_encoder/. */
export async function writeTextEncoderPart(
  ctx: PackContext, src: GraphSource, model: ModelProto, layers: LoraLayer[], countCheck: CountCheck | undefined, maxLength: number, t0 = now(),
): Promise<Converted & { grad?: PackModel }> {
  const parameters = countParameters(model);
  const { model: stored, converted } = ctx.fp16 ? storeWeightsAsFp16(model, FP16_MIN_BYTES) : { model, converted: new Set<string>() };
  const graphs: ModelProto[] = [forwardGraph(ctx, stored, src)];
  if (layers.length) graphs.push(holdWeightsOnce(buildTextEncoderGradModel(pinInputDims(stored, { input_ids: [1, maxLength] }))).model);
  ctx.graphs.textEncoder = graphs[0];
  if (graphs[1]) ctx.graphs.textEncoderGrad = graphs[1];
  const written = await writeGraphs(ctx, 'text_encoder', graphs, ['model.onnx', 'grad.onnx'], src, converted);
  ctx.reports.push({ part: 'text_encoder', source: src.name, storage: src.storage, parameters, ...(layers.length ? { layers: layers.length } : {}), ...(countCheck ? { countCheck } : {}), lackingOps: lackingOps(graphs), files: written.files, ms: now() - t0 });
  ctx.log(`${src.name}: ${written.files.length} files in ${((now() - t0) / 1000).toFixed(1)} s`);
  return { model: written.models[0], files: written.files, ...(written.models[1] ? { grad: written.models[1] } : {}) };
}

async function convertVae(ctx: PackContext, parts: ExportParts, part: 'vae_encoder' | 'vae_decoder'): Promise<Converted & { scale: number; latentChannels?: number }> {
  const t0 = now();
  const src = loadSourceGraph(parts.graphs[part], parts.dir);
  checkPlainExport(src.model, src.name);
  let model = src.model;
  let latentChannels: number | undefined;
  if (part === 'vae_encoder') {
    if (!(model.graph!.input ?? []).some((i) => i.name === 'sample')) throw new PackInputError('io', `${src.name} lacks input sample`);
    // diffusers' export samples the posterior (latent_sample); the pipeline takes the mean of the moments
    if (!(model.graph!.output ?? []).some((o) => o.name === 'latent_parameters')) {
      const moments = vaeMomentsValue(model, src.name);
      model = renameValue(model, moments, 'latent_parameters');
      model = { ...model, graph: { ...model.graph!, output: [onnx.ValueInfoProto.create({ name: 'latent_parameters' })] } };
    }
    model = keepOutputs(model, ['latent_parameters']);
    const conv = (model.graph!.node ?? []).find((n) => n.output?.[0] === 'latent_parameters');
    const w = conv?.opType === 'Conv' ? (model.graph!.initializer ?? []).find((t) => t.name === conv.input?.[1]) : undefined;
    latentChannels = w ? tensorDims(w)[0] : undefined;
    model = declareOutput(model, 'latent_parameters', ['batch', latentChannels ?? 'moments', 'latent_height', 'latent_width']);
  } else {
    if (!(model.graph!.input ?? []).some((i) => i.name === 'latent_sample')) throw new PackInputError('io', `${src.name} lacks input latent_sample`);
    if (!(model.graph!.output ?? []).some((o) => o.name === 'sample')) throw new PackInputError('io', `${src.name} lacks output sample`);
    model = keepOutputs(model, ['sample']);
  }
  const scale = part === 'vae_decoder' ? vaeScaleFactor(model) : 0;
  const written = await writeVaePart(ctx, part, src, model, t0);
  return { ...written, scale, ...(latentChannels !== undefined ? { latentChannels } : {}) };
}

/** A VAE graph (encoder ending in the moments, or decoder) into its folder. */
export async function writeVaePart(ctx: PackContext, part: 'vae_encoder' | 'vae_decoder', src: GraphSource, model: ModelProto, t0 = now()): Promise<Converted> {
  const parameters = countParameters(model);
  const { model: stored, converted } = ctx.fp16 ? storeWeightsAsFp16(model, FP16_MIN_BYTES) : { model, converted: new Set<string>() };
  const forward = forwardGraph(ctx, stored, src);
  ctx.graphs[part === 'vae_encoder' ? 'vaeEncoder' : 'vaeDecoder'] = forward;
  const written = await writeGraphs(ctx, part, [forward], ['model.onnx'], src, converted);
  ctx.reports.push({ part, source: src.name, storage: src.storage, parameters, lackingOps: lackingOps([forward]), files: written.files, ms: now() - t0 });
  ctx.log(`${src.name}: ${written.files.length} files in ${((now() - t0) / 1000).toFixed(1)} s`);
  return { model: written.models[0], files: written.files };
}

/** The UNet with LoRA slots and its train-step graph into unet/, sharing one set of weight chunks. */
export async function writeUnetPart(
  ctx: PackContext, src: GraphSource, facts: Pick<UnetFacts, 'latentChannels' | 'contextDim' | 'timestepShape'>, slotted: ModelProto,
  layers: LoraLayer[], countCheck: CountCheck, latent: number, maxLength: number,
): Promise<Converted & { train: PackModel }> {
  const t0 = now();
  const parameters = countParameters(slotted);
  const chunked = chunkUnetAttention(ctx, slotted, facts, latent, maxLength);
  if (chunked.attentions) ctx.attentionChunks = { maxScoreBytes: chunked.maxScoreBytes, attentions: chunked.attentions };
  const { model: stored, converted } = ctx.fp16 ? storeWeightsAsFp16(chunked.model, FP16_MIN_BYTES) : { model: chunked.model, converted: new Set<string>() };
  const pinned = pinInputDims(stored, {
    sample: [1, facts.latentChannels, latent, latent],
    encoder_hidden_states: [1, maxLength, facts.contextDim],
    timestep: facts.timestepShape === 'batch' ? [1] : [],
  });
  const tTrain = now();
  const segments = chunkRecomputeSegments(pinned);
  const train = holdWeightsOnce(buildUnetTrainModel(pinned, undefined, ctx.opts.recompute ? { recompute: 'auto' } : segments.length ? { recompute: segments } : {})).model;
  ctx.log(`${src.name}: train-step graph with ${train.graph!.node!.length} nodes in ${((now() - tTrain) / 1000).toFixed(1)} s`);
  const forward = forwardGraph(ctx, stored, src);
  ctx.graphs.unet = forward;
  ctx.graphs.unetTrain = train;
  const written = await writeGraphs(ctx, 'unet', [forward, train], ['model.onnx', 'train.onnx'], src, converted);
  ctx.reports.push({ part: 'unet', source: src.name, storage: src.storage, parameters, layers: layers.length, countCheck, lackingOps: lackingOps([forward, train]), files: written.files, ms: now() - t0 });
  ctx.log(`${src.name}: ${written.files.length} files in ${((now() - t0) / 1000).toFixed(1)} s`);
  return { model: written.models[0], train: written.models[1], files: written.files };
}

/**
 * --fp16: the forward graph computes in float16. Its large weights are already the float16
 * initializers `W::fp16` of storeWeightsAsFp16, each followed by a Cast to float32, which
 * becomes a Cast to float16 (a no-op ORT removes), so the forward and the train graphs share
 * the same float16 weights in the chunks.
 */
function forwardGraph(ctx: PackContext, stored: ModelProto, src: GraphSource): ModelProto {
  return ctx.fp16 ? convertToFloat16(stored, { keepIoTypes: true, readExternal: src.readExternal }) : stored;
}

function packPrecision(fp16: boolean): PackPrecision {
  const forward = fp16 ? 'float16' : 'float32';
  return {
    weights: forward,
    compute: { unet: forward, textEncoder: forward, vaeDecoder: forward, vaeEncoder: forward, train: 'float32' },
  };
}

/**
 * Writes `graphs` (the forward graph first; the others share its weights) into the part's
 * folder: the weights once into chunks, then each .onnx.
 */
async function writeGraphs(ctx: PackContext, part: GraphPart, graphs: ModelProto[], names: string[], src: GraphSource, toFloat16: ReadonlySet<string>): Promise<{ models: PackModel[]; files: PackFile[] }> {
  const writer = new ChunkWriter(ctx.sink, part, ctx.chunkBytes);
  const ext = await externalizeWeights(graphs, writer, { readSource: src.readWeights ?? src.readExternal!, toFloat16, ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}), ...(src.onTensor ? { onTensor: src.onTensor } : {}) });
  const chunkPaths = ext.files.map((f) => f.path);
  const files = [...ext.files];
  const models = graphs.map((g, i) => {
    const path = `${part}/${names[i]}`;
    files.push(putFile(ctx.sink, path, encodeModel(g)));
    return { file: path, ...(chunkPaths.length ? { externalData: chunkPaths } : {}) };
  });
  return { models, files };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function countParameters(model: ModelProto): number {
  let n = 0;
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType === onnx.TensorProto.DataType.FLOAT || t.dataType === onnx.TensorProto.DataType.FLOAT16) n += tensorDims(t).reduce((a, b) => a * b, 1);
  }
  return n;
}

function lackingOps(graphs: ModelProto[]): Map<string, number> {
  const all = new Map<string, number>();
  for (const g of graphs) for (const [op, k] of opsLackingOnWebgpu(g)) all.set(op, (all.get(op) ?? 0) + k);
  return new Map([...all].sort(([a], [b]) => a.localeCompare(b)));
}

/** Latent and image side: the export's static dims, else --image-size, else unet/config.json, else SD1.5's 64 → 512. */
function imageGeometry(ctx: PackContext, parts: ExportParts, unet: UnetFacts, vaeScale: number): { latent: number; image: number; scale: number } {
  const { opts } = ctx;
  const config = parts.configs.unet ? readJsonFile(parts.configs.unet, 'the UNet config') : {};
  const vaeConfig = parts.configs.vae_decoder ? readJsonFile(parts.configs.vae_decoder, 'the VAE config') : {};
  const scale = typeof vaeConfig.scaling_factor === 'number' ? vaeConfig.scaling_factor : 0.18215;
  if (vaeScale < 2) throw new PackInputError('io', 'the VAE decoder has no upsampling (Resize) nodes: cannot tell its scale factor');
  let latent: number | null = unet.latentSize;
  if (opts.imageSize !== undefined) {
    if (!Number.isInteger(opts.imageSize) || opts.imageSize % vaeScale) throw new PackInputError('options', `--image-size ${opts.imageSize} is not a multiple of the VAE's scale factor ${vaeScale}`);
    if (latent !== null && latent * vaeScale !== opts.imageSize) throw new PackInputError('options', `--image-size ${opts.imageSize}, but the UNet's sample is fixed at ${latent}×${latent} (${latent * vaeScale} px)`);
    latent = opts.imageSize / vaeScale;
  }
  if (latent === null && typeof config.sample_size === 'number') latent = config.sample_size;
  if (latent === null && unet.contextDim === SD15_CONTEXT_DIM) {
    latent = SD15_LATENT_SIZE;
    ctx.log(`image size: the export does not fix it; using SD1.5's ${SD15_LATENT_SIZE * vaeScale}×${SD15_LATENT_SIZE * vaeScale} (give --image-size for another)`);
  }
  if (latent === null) throw new PackInputError('options', 'the export does not say its image size (symbolic sample dims, no unet/config.json): give --image-size');
  return { latent, image: latent * vaeScale, scale };
}

export function readSchedule(path: string): PackManifest['schedule'] {
  const c = readJsonFile(path, 'the noise schedule');
  const num = (k: string, fallback: number) => {
    const v = c[k] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new PackInputError('io', `scheduler_config.json: ${k} is ${JSON.stringify(v)}, not a number`);
    return v;
  };
  const betaSchedule = c.beta_schedule ?? 'scaled_linear';
  if (betaSchedule !== 'scaled_linear' && betaSchedule !== 'linear') throw new PackInputError('io', `scheduler_config.json: beta_schedule ${JSON.stringify(betaSchedule)} is not supported (scaled_linear or linear)`);
  const predictionType = c.prediction_type ?? 'epsilon';
  if (predictionType !== 'epsilon' && predictionType !== 'v_prediction') throw new PackInputError('io', `scheduler_config.json: prediction_type ${JSON.stringify(predictionType)} is not supported (epsilon or v_prediction)`);
  return {
    numTrainTimesteps: num('num_train_timesteps', 1000),
    betaStart: num('beta_start', 0.00085),
    betaEnd: num('beta_end', 0.012),
    betaSchedule,
    predictionType,
  };
}

function readTokenizer(parts: ExportParts): { json: ClipTokenizerJson; maxId: number; maxLength?: number } {
  let json: ClipTokenizerJson;
  try {
    json = 'json' in parts.tokenizer
      ? JSON.parse(readFileSync(parts.tokenizer.json, 'utf8')) as ClipTokenizerJson
      : tokenizerFromVocabMerges(readFileSync(parts.tokenizer.vocab, 'utf8'), readFileSync(parts.tokenizer.merges, 'utf8'));
    ClipTokenizer.fromJSON(json).encode('a photo', 8);
  } catch (e) {
    throw new PackInputError('missing-part', `the tokenizer files in ${join(parts.dir, 'tokenizer')} cannot be read as a CLIP tokenizer: ${(e as Error).message}`);
  }
  const maxId = Math.max(...Object.values(json.model.vocab), ...json.added_tokens.map((t) => t.id));
  const config = parts.tokenizerConfig ? readJsonFile(parts.tokenizerConfig, 'the tokenizer config') : {};
  const ml = config.model_max_length;
  return { json, maxId, ...(typeof ml === 'number' && Number.isInteger(ml) && ml > 1 && ml < 100_000 ? { maxLength: ml } : {}) };
}

/** Swaps the finished staging folder in for `out` (an existing pack there is replaced). */
function replaceFolder(staging: string, out: string): void {
  const old = join(dirname(out), `.${basename(out)}.old-${process.pid}`);
  if (existsSync(out)) renameSync(out, old);
  renameSync(staging, out);
  rmSync(old, { recursive: true, force: true });
}
