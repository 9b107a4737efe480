// The pack writer's parts that run anywhere (Node and a browser worker: no `node:` imports):
// one graph part at a time into the pack's sink (LoRA slots already in, train graphs from the
// autodiff, attention chunking, float16 weights, chunked external data), then finishPack's
// tokenizer, LiDB aux bases, manifest and memory report. The inputs that need files (an ONNX
// export in ./pack.ts, a checkpoint on disk in src/checkpoint/packCheckpoint.ts) and the
// browser's checkpoint import (src/checkpoint/convertCheckpoint.ts) all write packs through these.
import { STYLE_PRESETS } from '../packs/stylePresets';
import { encodeModel, onnx, tensorDims, type ExternalDataReader, type ModelProto } from '../onnx';
import { convertToFloat16 } from '../onnx/toFloat16';
import { buildTextEncoderGradModel, buildUnetTrainModel } from '../finetune/trainGraphs';
import { LORA_RANK_DIM } from '../models/layers';
import { chunkAttention, chunkRecomputeSegments } from './attentionChunks';
import { MemoryReportError } from './memory';
import { holdWeightsOnce } from './weightsOnce';
import { dimsForInputs, memoryReport, type MemoryReport, type PackGraphs } from './memoryReport';
import type { ClipTokenizerJson } from '../diffusion/tokenizerBuild';
import { auxDims } from '../lidb/layers';
import { makeAuxBases, makeAuxBasesInSlices, writeAuxFile, type AuxBases } from '../lidb/aux';
import { CLIP_NORMALIZE } from '../models/hypernet';
import { PACK_FORMAT, manifestBytes, validateManifest, type LoraLayer, type PackFile, type PackManifest, type PackModel, type PackPrecision, type PackRequirements } from '../packs/manifest';
import { ChunkWriter, DEFAULT_CHUNK_BYTES, EXTERNAL_THRESHOLD_BYTES, externalizeWeights, type WeightReader } from './chunks';
import { PackInputError } from './errors';
import { float16LossScale, storeWeightsAsFp16 } from './fp16';
import { putFile, type PackSink } from './sink';
import { pinInputDims } from './graphEdit';
import { checkHypernet } from './hypernetCheck';
import type { UnetFacts } from './inspect';
import type { CountCheck } from './layers';
import type { GraphPart } from './layout';
import { opsLackingOnWebgpu } from './webgpuOps';

/** Seed of the aux bases unless --aux-seed says otherwise: packs of the same base model then share bases. */
export const DEFAULT_AUX_SEED = 2307;
/** HyperDreamBooth's fast fine-tune (§3.3: ~40 steps at a relaxed rank); rank and rate as the tiny pack's until measured on SD1.5. */
export const DEFAULT_TRAIN = { steps: 40, rank: 4, learningRate: 1e-3 } as const;
export const DEFAULT_TRIGGER = 'sks';


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
  /**
   * UNet train graph recomputes block activations in the backward pass (less memory, a little
   * more time); default: from 256 px up (RECOMPUTE_FROM_LATENT), where the fine-tune needs it to
   * stay in a browser's budget
   */
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
  /** dtype the graphs (UNet, text encoder, VAE, train graphs) compute in (manifest.precision has it per graph) */
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
  /** values of the UNet's prediction at batch 1 (channels × latent²): sets the float16 train graphs' loss scale */
  latentElements?: number;
  /** set when the UNet's attention was split over query blocks */
  attentionChunks?: { maxScoreBytes: number; attentions: number };
}


export const now = (): number => performance.now();

/** The writer's state for one pack going into `sink`; `id` is checked the way --id is. */
export function newPackContext(opts: PackOptions, sink: PackSink, id: string): PackContext {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(id)) throw new PackInputError('options', `pack id "${id}" may only hold letters, digits, '.', '_' and '-' (give --id)`);
  return {
    opts, sink, chunkBytes: opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, fp16: !!opts.fp16, warnings: [], reports: [], graphs: {},
    log: opts.log ?? (() => undefined),
  };
}
/**
 * The forward graphs go through convertToFloat16 and the train graphs are differentiated from
 * them, so everything computes in float16 from the float16 weights, held once (holdWeightsOnce:
 * onnxruntime would fold the weights' chains into copies at session creation).
 */
const FP16_NOTE = 'weights are stored once, as float16. The UNet, text encoder, VAE and train graphs compute in float16 (normalizations, the LayerNorm variance and the timestep embedding stay float32; inputs and outputs, so the LoRA factors, the loss and every gradient, are float32; the train graphs scale the loss by a static power of two against float16 underflow and unscale the gradients). The weights\' chains are kept from onnxruntime\'s constant folding (src/packer/weightsOnce.ts), so a train session holds the float16 weights once';
const FP16_MIN_BYTES = EXTERNAL_THRESHOLD_BYTES;

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
  /** --hypernet's graph, read by the caller (a file in Node) */
  hypernetModel?: ModelProto;
  name: string;
  description: string;
  /** the aux bases, started early by startAuxBases with these parts' layers */
  auxBases?: Promise<AuxBases>;
}

/** A turn for the event loop: setImmediate in Node, a MessageChannel message in a browser (setTimeout would wait ≥ 4 ms). */
function pause(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => { c.port1.close(); resolve(); };
    c.port2.postMessage(null);
  });
}

const auxLayers = (unetLayers: readonly LoraLayer[], textLayers: readonly LoraLayer[]): LoraLayer[] => [...unetLayers, ...textLayers].map((l) => ({ ...l, ...auxDims(l) }));

/**
 * Starts computing the pack's aux bases in slices, to fill the writer's waits for I/O; give the
 * promise to finishPack as `auxBases` with the same layers. Rejects only if the pack is aborted.
 */
export function startAuxBases(ctx: PackContext, unetLayers: readonly LoraLayer[], textLayers: readonly LoraLayer[]): Promise<AuxBases> {
  const started = makeAuxBasesInSlices(auxLayers(unetLayers, textLayers), ctx.opts.auxSeed ?? DEFAULT_AUX_SEED, pause, ctx.opts.signal);
  started.catch(() => undefined);
  return started;
}

/** Tokenizer, LiDB aux bases, hypernetwork and manifest: the rest of the pack once the graphs are written. */
export async function finishPack(ctx: PackContext, id: string, t0: number, p: FinishedParts): Promise<Omit<PackResult, 'dir'>> {
  const { opts } = ctx;
  const { text, vaeDecoder, vaeEncoder, unet, geometry } = p;


  const layers: LoraLayer[] = auxLayers(p.unetLayers, text.layers);
  const files: PackFile[] = [...text.files, ...vaeDecoder.files, ...vaeEncoder.files, ...unet.files];
  const put = async (path: string, bytes: Uint8Array) => { files.push(await putFile(ctx.sink, path, bytes)); };

  await put('tokenizer/tokenizer.json', new TextEncoder().encode(`${JSON.stringify(p.tokenizer)}\n`));
  const auxSeed = opts.auxSeed ?? DEFAULT_AUX_SEED;
  const early = p.auxBases ? await p.auxBases : null;
  const sameLayers = early && early.seed === auxSeed && early.bases.size === layers.length
    && layers.every((l) => { const b = early.bases.get(l.name); return b && b.nIn === l.nIn && b.nOut === l.nOut && b.a === l.a && b.b === l.b; });
  const aux = writeAuxFile(sameLayers ? early : makeAuxBases(layers, auxSeed), { dtype: ctx.fp16 ? 'F16' : 'F32' });
  await put('lidb/aux.safetensors', aux);
  const aMax = Math.max(...layers.map((l) => l.a!));
  const bMax = Math.max(...layers.map((l) => l.b!));

  let hypernet: PackManifest['hypernet'];
  if (p.hypernetModel) {
    const check = checkHypernet(p.hypernetModel, layers.length, aMax, bMax);
    await put('hypernet/model.onnx', check.bytes);
    hypernet = { model: { file: 'hypernet/model.onnx' }, imageSize: check.imageSize, normalize: CLIP_NORMALIZE, refinementSteps: opts.hypernetRefinementSteps ?? 4 };
    ctx.log(`hypernetwork ${opts.hypernet ?? ''}: pixel_values [1, 3, ${check.imageSize}, ${check.imageSize}] → lidb_down [${layers.length}, ${aMax}], lidb_up [${layers.length}, ${bMax}]: matches the pack`);
  }

  const conversion: PackConversion = {
    tool: 'hyperbooth pack',
    source: p.source,
    weights: ctx.fp16 ? 'float16' : 'float32',
    compute: ctx.fp16 ? 'float16' : 'float32',
    ...(ctx.fp16 ? { fp16MinBytes: FP16_MIN_BYTES, note: FP16_NOTE } : {}),
    chunkBytes: ctx.chunkBytes,
    ...(p.timestepRelaxed ? { timestepRelaxed: true } : {}),
    ...(recomputeFor(ctx, geometry.latent) ? { recompute: 'auto' as const } : {}),
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
    lidb: { aux: 'lidb/aux.safetensors', auxSha256: files.find((f) => f.path === 'lidb/aux.safetensors')!.sha256, auxSeed, aMax, bMax },
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
  const memory = packMemory(ctx, draft as unknown as PackManifest);
  const requirements = memory ? packRequirements(memory) : null;
  const manifest = validateManifest({ ...draft, ...(requirements ? { requirements } : {}), files }, `pack ${id}`) as ConvertedManifest;
  const mBytes = manifestBytes(manifest);
  await ctx.sink.writeFile('manifest.json', mBytes);
  const totalBytes = files.reduce((s, f) => s + f.size, 0) + mBytes.byteLength;
  return { manifest, parts: ctx.reports, warnings: ctx.warnings, totalBytes, ms: now() - t0, memory };
}

const DEFAULT_ATTENTION_CHUNK_BYTES = 64 * 2 ** 20;
/**
 * Latent side from which the UNet train graph recomputes its blocks unless told otherwise: at
 * SD1.5's 512 px (latent 64) the float16 fine-tune's peak is 3.49 GiB without, 2.80 GiB with
 * (inspect sd15 --memory), against the 3.5 GiB a browser GPU can give; at 256 px (32) 1.99 GiB
 * with. The tiny 64 px pack (latent 8) keeps every activation: it is small and a step is faster.
 */
export const RECOMPUTE_FROM_LATENT = 32;

function recomputeFor(ctx: PackContext, latent: number): boolean {
  return ctx.opts.recompute ?? latent >= RECOMPUTE_FROM_LATENT;
}
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

/** The manifest's `requirements` (src/packs/fit.ts): null when a graph could not be sized. */
function packRequirements(m: MemoryReport): PackRequirements | null {
  const g = m.graphs;
  if (!g.generate || !g.fineTuneStep) return null;
  // a graph the static inference could not size (an export's run-time pad arithmetic) is left out
  const sized = [g.generate, g.fineTuneStep, g.textEncoder, g.vaeEncode, g.vaeDecode].filter((e): e is NonNullable<typeof e> => !!e);
  const largest = sized.reduce((a, e) => (e.largestTensorBytes > a.largestTensorBytes ? e : a));
  return {
    imageSize: m.imageSize, largestTensorBytes: largest.largestTensorBytes, largestTensor: largest.largestTensor,
    peakBytes: { generate: g.generate.peakBytes, fineTuneStep: g.fineTuneStep.peakBytes },
    weightsBytes: { generate: g.generate.weightsBytes, fineTuneStep: g.fineTuneStep.weightsBytes },
  };
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
  /** float16 bytes of a weight for a --fp16 pack, converted by the source (a checkpoint, in its pooled buffers) */
  readWeightsFloat16?: (location: string) => Promise<Uint8Array>;
  /** bytes readWeights or readWeightsFloat16 gave that the pack no longer needs (their buffer may be reused) */
  releaseWeights?: (bytes: Uint8Array) => void;
  /** called after each tensor is copied (progress) */
  onTensor?: (name: string, bytes: number) => void;
}


/** The text encoder's forward graph (and, with LoRA layers, its gradient graph) into text_encoder/. */
export async function writeTextEncoderPart(
  ctx: PackContext, src: GraphSource, model: ModelProto, layers: LoraLayer[], countCheck: CountCheck | undefined, maxLength: number, t0 = now(),
): Promise<Converted & { grad?: PackModel }> {
  const parameters = countParameters(model);
  const { model: stored, converted } = ctx.fp16 ? storeWeightsAsFp16(model, FP16_MIN_BYTES) : { model, converted: new Set<string>() };
  const graphs: ModelProto[] = [forwardGraph(ctx, stored, src)];
  // --fp16: differentiated from the float16 forward graph, so the backward pass is float16 too;
  // the seed ∂loss/∂c comes from the UNet step's loss, so it takes the UNet's loss scale
  const lossScale = ctx.fp16 ? float16LossScale(ctx.latentElements ?? 0) : 1;
  if (layers.length) graphs.push(holdWeightsOnce(buildTextEncoderGradModel(pinInputDims(graphs[0], { input_ids: [1, maxLength] }), undefined, lossScale > 1 ? { lossScale } : {})).model);
  ctx.graphs.textEncoder = graphs[0];
  if (graphs[1]) ctx.graphs.textEncoderGrad = graphs[1];
  const written = await writeGraphs(ctx, 'text_encoder', graphs, ['model.onnx', 'grad.onnx'], src, converted);
  ctx.reports.push({ part: 'text_encoder', source: src.name, storage: src.storage, parameters, ...(layers.length ? { layers: layers.length } : {}), ...(countCheck ? { countCheck } : {}), lackingOps: lackingOps(graphs), files: written.files, ms: now() - t0 });
  ctx.log(`${src.name}: ${written.files.length} files in ${((now() - t0) / 1000).toFixed(1)} s`);
  return { model: written.models[0], files: written.files, ...(written.models[1] ? { grad: written.models[1] } : {}) };
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
  const forward = forwardGraph(ctx, stored, src);
  // the train graph is differentiated from the graph the pack runs: with --fp16 the float16 one
  const pinned = pinInputDims(forward, {
    sample: [1, facts.latentChannels, latent, latent],
    encoder_hidden_states: [1, maxLength, facts.contextDim],
    timestep: facts.timestepShape === 'batch' ? [1] : [],
  });
  const tTrain = now();
  const segments = chunkRecomputeSegments(pinned);
  const lossScale = ctx.fp16 ? float16LossScale(facts.latentChannels * latent * latent) : 1;
  const recompute = recomputeFor(ctx, latent);
  // weights held once: a flipped kernel for a Conv's input gradient would be flipped on every run
  const train = holdWeightsOnce(buildUnetTrainModel(pinned, undefined, {
    convInputGradient: 'conv-transpose',
    ...(recompute ? { recompute: 'auto' as const } : segments.length ? { recompute: segments } : {}),
    ...(lossScale > 1 ? { lossScale } : {}),
  })).model;
  ctx.log(`${src.name}: train-step graph with ${train.graph!.node!.length} nodes in ${((now() - tTrain) / 1000).toFixed(1)} s`);
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
    compute: { unet: forward, textEncoder: forward, vaeDecoder: forward, vaeEncoder: forward, train: forward },
  };
}

/**
 * Writes `graphs` (the forward graph first; the others share its weights) into the part's
 * folder: the weights once into chunks, then each .onnx.
 */
async function writeGraphs(ctx: PackContext, part: GraphPart, graphs: ModelProto[], names: string[], src: GraphSource, toFloat16: ReadonlySet<string>): Promise<{ models: PackModel[]; files: PackFile[] }> {
  const writer = new ChunkWriter(ctx.sink, part, ctx.chunkBytes);
  const ext = await externalizeWeights(graphs, writer, { readSource: src.readWeights ?? src.readExternal!, toFloat16, ...(src.readWeightsFloat16 ? { readFloat16: src.readWeightsFloat16 } : {}), ...(src.releaseWeights ? { release: src.releaseWeights } : {}), ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}), ...(src.onTensor ? { onTensor: src.onTensor } : {}) });
  const chunkPaths = ext.files.map((f) => f.path);
  const files = [...ext.files];
  const models: PackModel[] = [];
  for (const [i, g] of graphs.entries()) {
    const path = `${part}/${names[i]}`;
    files.push(await putFile(ctx.sink, path, encodeModel(g)));
    models.push({ file: path, ...(chunkPaths.length ? { externalData: chunkPaths } : {}) });
  }
  return { models, files };
}

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
