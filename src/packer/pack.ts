// `hyperbooth pack`: a Stable Diffusion 1.5 ONNX export (diffusers or optimum layout) → a
// HyperBooth model pack: LoRA slots on every attention projection, the fine-tune's train
// graphs from the project's autodiff, the LiDB aux bases, tokenizer.json, the weights in
// browser-sized chunks, and a manifest with sizes and sha256. Graphs are converted one at a
// time and weights copied one tensor at a time, into a staging folder that replaces --out
// only when everything succeeded.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { onnx, tensorDims } from '../onnx';
import { tokenizerFromVocabMerges, type ClipTokenizerJson } from '../diffusion/tokenizerBuild';
import { ClipTokenizer } from '../diffusion/tokenizer';
import type { LoraLayer, PackManifest } from '../packs/manifest';
import { PackInputError } from './errors';
import { folderSink } from './folderSink';
import { declareOutput, keepOutputs, renameValue } from './graphEdit';
import { loadHypernet } from './hypernet';
import { checkPlainExport, inspectTextEncoder, inspectUnet, relaxTimestepBatch, vaeMomentsValue, vaeScaleFactor, type UnetFacts } from './inspect';
import { addLoraSlots, checkLayerCount, hasSd15Dimensions, type CountCheck } from './layers';
import { locateExport, readJsonFile, type ExportParts, type GraphPart } from './layout';
import {
  finishPack, newPackContext, now, writeTextEncoderPart, writeUnetPart, writeVaePart,
  type Converted, type FinishedParts, type PackContext, type PackOptions, type PackResult,
} from './packParts';
import { loadSourceGraph } from './source';

// the writer's parts moved to ./packParts.ts (no Node APIs, so a browser worker runs them too)
export * from './packParts';

const SD15_CONTEXT_DIM = 768;
const SD15_LATENT_SIZE = 64;

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
  const id = opts.id ?? basename(out);
  const staging = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  const ctx = newPackContext(opts, folderSink(staging), id);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
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

  // the image size first: the float16 train graphs' loss scale depends on the latent's size
  const geometry = imageGeometry(ctx, parts, unetFacts, vaeScaleFactor(loadSourceGraph(parts.graphs.vae_decoder, parts.dir).model));
  ctx.latentElements = unetFacts.latentChannels * geometry.latent ** 2;
  const text = await convertTextEncoder(ctx, parts, tokenizer);
  if (text.hiddenSize !== unetFacts.contextDim) {
    throw new PackInputError('io', `the text encoder's width ${text.hiddenSize} differs from the UNet's cross-attention width ${unetFacts.contextDim}: the parts come from different models`);
  }
  const vaeDecoder = await convertVae(ctx, parts, 'vae_decoder');
  const vaeEncoder = await convertVae(ctx, parts, 'vae_encoder');
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
    ...(opts.hypernet ? { hypernetModel: loadHypernet(opts.hypernet) } : {}),
    name: `Stable Diffusion (${basename(parts.dir)})`,
    description: `Converted by hyperbooth pack from the ONNX export ${basename(parts.dir)}${ctx.fp16 ? ', float16 weights' : ''}`,
  });
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
