// A checkpoint's pack written into any PackSink, with no Node API: the CLI (./packCheckpoint.ts,
// a staging folder) and the browser's import (workers/checkpointImport.ts, the browser's storage)
// both run this, so the same file gives the same pack byte for byte. The checkpoint is read
// through a ByteSource one tensor at a time (File.slice in a browser), never whole.
import { clipTokenizerFromBpe } from '../diffusion/clipBpe';
import type { ClipTokenizerJson } from '../diffusion/tokenizerBuild';
import type { PackManifest } from '../packs/manifest';
import { checkLayerCount, hasSd15Dimensions } from '../packer/layers';
import {
  finishPack, newPackContext, now, startAuxBases, writeTextEncoderPart, writeUnetPart, writeVaePart,
  type CheckpointConversion, type GraphSource, type PackContext, type PackOptions, type PackResult,
} from '../packer/packParts';
import type { ModelProto } from '../onnx';
import type { PackSink } from '../packer/sink';
import type { ByteSource } from './byteSource';
import { splitSingleFile, type CheckpointTensors } from './components';
import { CheckpointError } from './errors';
import { buildCheckpointGraphs, type BuiltPart } from './graphs';
import { indexSafetensors } from './safetensorsIndex';
import { readSchedule } from './schedule';

/** Progress per stage: reading the header, building the graphs, then the bytes copied per part. */
export interface CheckpointProgress { stage: 'index' | 'graphs' | 'text_encoder' | 'vae_decoder' | 'vae_encoder' | 'unet' | 'done'; done: number; total: number }

/** A checkpoint opened: its tensors by part, where the schedule and tokenizer come from. */
export interface OpenedCheckpoint {
  tensors: CheckpointTensors;
  tokenizer: { json: ClipTokenizerJson; what: string };
  schedule: { schedule: PackManifest['schedule']; what: string; used: string[] };
}

export const describeSchedule = (s: PackManifest['schedule']): string => `${s.betaSchedule} ${s.betaStart} → ${s.betaEnd} over ${s.numTrainTimesteps} steps`;

/** CLIP's shipped BPE vocabulary, gunzipped; asked for only once the file's header was accepted. */
export type BpeText = () => string | Promise<string>;

/** A single-file checkpoint (original SD layout) read from its header. */
export async function openSingleFileCheckpoint(src: ByteSource, bpeText: BpeText): Promise<OpenedCheckpoint> {
  const tensors = splitSingleFile(await indexSafetensors(src));
  const sched = await readSchedule(tensors.extras, src.name);
  const tokenizer = shippedTokenizer(tensors, await bpeText());
  return {
    tensors,
    schedule: {
      schedule: sched.schedule,
      what: sched.from ? `read from ${sched.from}: ${describeSchedule(sched.schedule)}` : `SD1.5's default, the file has no schedule buffers: ${describeSchedule(sched.schedule)}`,
      used: sched.from ? [sched.from] : [],
    },
    tokenizer,
  };
}

/** CLIP's BPE vocabulary shipped with HyperBooth, cut to the model's token embedding (a checkpoint carries no tokenizer). */
export function shippedTokenizer(t: CheckpointTensors, bpeText: string): OpenedCheckpoint['tokenizer'] {
  const rows = t.parts.text_encoder.get('text_model.embeddings.token_embedding.weight')?.entry.shape[0];
  if (rows === undefined) throw new CheckpointError('not-sd1', `${t.files.text_encoder}: no token embedding (text_model.embeddings.token_embedding.weight)`);
  try {
    const json = clipTokenizerFromBpe(bpeText, rows);
    return { json, what: rows === 49408 ? "CLIP's BPE vocabulary (shipped with HyperBooth), 49408 ids" : `CLIP's BPE vocabulary (shipped) cut to the model's ${rows} ids` };
  } catch (e) {
    throw new CheckpointError('not-sd1', `${t.files.text_encoder}: the token embedding has ${rows} rows: ${(e as Error).message}`);
  }
}

export function conversionRecord(o: OpenedCheckpoint): CheckpointConversion {
  const dtypes: Record<string, number> = {};
  for (const part of Object.values(o.tensors.parts)) for (const r of part.values()) dtypes[r.entry.dtype] = (dtypes[r.entry.dtype] ?? 0) + 1;
  const ignored = [...[...o.tensors.extras.keys()].filter((k) => !o.schedule.used.includes(k)), ...o.tensors.buffers];
  return { layout: o.tensors.layout, dtypes, schedule: o.schedule.what, tokenizer: o.tokenizer.what, used: o.schedule.used, ignored };
}

/** The lines the CLI prints (and the browser's import shows) about what was read. */
export function conversionLines(fileName: string, record: CheckpointConversion): string[] {
  const lines = [
    `${fileName}: ${record.layout}, tensors ${Object.entries(record.dtypes).map(([d, n]) => `${n} ${d}`).join(', ')} (read as float32)`,
    `schedule: ${record.schedule}`,
    `tokenizer: ${record.tokenizer}`,
  ];
  if (record.ignored.length) lines.push(`ignored ${record.ignored.length} other keys: ${record.ignored.slice(0, 6).join(', ')}${record.ignored.length > 6 ? ', …' : ''}`);
  return lines;
}

export interface WriteCheckpointOptions {
  /** the file or folder name the pack is named after (the CLI: basename of --from) */
  sourceName: string;
  onProgress?: (p: CheckpointProgress) => void;
  /** --hypernet's graph, when given */
  hypernetModel?: ModelProto;
}

/** Builds the graphs and writes every file of the pack into `ctx.sink`, manifest last. */
export async function writeCheckpointPack(
  ctx: PackContext, id: string, t0: number, opened: OpenedCheckpoint, w: WriteCheckpointOptions,
): Promise<Omit<PackResult, 'dir'>> {
  const { opts } = ctx;
  const progress = w.onProgress ?? (() => undefined);
  const record = conversionRecord(opened);
  progress({ stage: 'graphs', done: 0, total: 1 });
  const g = await buildCheckpointGraphs(opened.tensors, { ...(opts.imageSize !== undefined ? { imageSize: opts.imageSize } : {}), textEncoderLora: !!opts.textEncoderLora, ...(opts.signal ? { signal: opts.signal } : {}) });
  const maxLength = g.configs.text.maxLength;
  const source = (part: CheckpointProgress['stage'], b: BuiltPart, file: string): GraphSource => {
    const total = b.model.graph!.initializer!.filter((t) => t.externalData?.length).reduce((s, t) => s + Number(t.externalData!.find((e) => e.key === 'length')!.value), 0);
    let done = 0;
    return {
      name: `${file} (${part})`, storage: `safetensors ${Object.keys(record.dtypes).join('/')}`, readWeights: b.weights.read, readWeightsFloat16: b.weights.readFloat16, releaseWeights: b.weights.release,
      onTensor: (_n, bytes) => { done += bytes; progress({ stage: part, done, total }); },
    };
  };
  const files = opened.tensors.files;
  let textCount;
  if (g.text.layers.length) {
    textCount = checkLayerCount('text_encoder', g.text.layers, hasSd15Dimensions('text_encoder', g.text.layers, g.configs.text.vocabSize));
    ctx.log(`text encoder: ${textCount.message}`);
  }
  ctx.latentElements = g.configs.unet.inChannels * g.geometry.latent ** 2;
  const auxBases = startAuxBases(ctx, g.unet.layers, g.text.layers);
  const text = await writeTextEncoderPart(ctx, source('text_encoder', g.text, files.text_encoder), g.text.model, g.text.layers, textCount, maxLength);
  const vaeDecoder = await writeVaePart(ctx, 'vae_decoder', source('vae_decoder', g.vaeDecoder, files.vae), g.vaeDecoder.model);
  const vaeEncoder = await writeVaePart(ctx, 'vae_encoder', source('vae_encoder', g.vaeEncoder, files.vae), g.vaeEncoder.model);
  const unetCount = checkLayerCount('unet', g.unet.layers, hasSd15Dimensions('unet', g.unet.layers));
  ctx.log(`UNet: ${unetCount.message}`);
  const facts = { latentChannels: g.configs.unet.inChannels, contextDim: g.configs.unet.crossAttentionDim, timestepShape: 'batch' as const };
  const unet = await writeUnetPart(ctx, source('unet', g.unet, files.unet), facts, g.unet.model, g.unet.layers, unetCount, g.geometry.latent, maxLength);
  const storage = { text_encoder: files.text_encoder, unet: files.unet, vae_encoder: files.vae, vae_decoder: files.vae };
  const label = w.sourceName.replace(/\.safetensors$/i, '');
  const finished = await finishPack(ctx, id, t0, {
    schedule: opened.schedule.schedule, tokenizer: opened.tokenizer.json,
    text: { ...text, layers: g.text.layers, maxLength, hiddenSize: g.configs.text.hiddenSize, inputDtype: 'int32' },
    vaeEncoder, vaeDecoder, unet, unetLayers: g.unet.layers, geometry: g.geometry,
    latentChannels: g.configs.unet.inChannels, timestepDtype: 'float32', timestepShape: 'batch',
    source: { folder: w.sourceName, storage }, checkpoint: record,
    ...(w.hypernetModel ? { hypernetModel: w.hypernetModel } : {}),
    auxBases,
    name: `Stable Diffusion (${label})`,
    description: `Converted by hyperbooth pack from the ${record.layout === 'single-file' ? 'checkpoint' : 'diffusers folder'} ${w.sourceName}${ctx.fp16 ? ', float16 weights' : ''}`,
  });
  progress({ stage: 'done', done: 1, total: 1 });
  return finished;
}

export type SinkPackOptions = Omit<PackOptions, 'from' | 'out' | 'hypernet'> & {
  /** the pack's id (the CLI takes it from --out's folder name) */
  id: string;
  onProgress?: (p: CheckpointProgress) => void;
};

/**
 * A single-file .safetensors checkpoint → a pack in `sink`: the browser's path. The sink gets
 * manifest.json last, so a sink without one holds no finished pack (the caller removes it on
 * failure). Throws CheckpointError (refusals), PackInputError, or the signal's reason.
 */
export async function convertCheckpointInto(
  source: ByteSource, sink: PackSink, bpeText: BpeText, opts: SinkPackOptions,
): Promise<Omit<PackResult, 'dir'> & { checkpoint: CheckpointConversion }> {
  const t0 = now();
  const ctx = newPackContext({ ...opts, from: source.name, out: opts.id }, sink, opts.id);
  opts.onProgress?.({ stage: 'index', done: 0, total: 1 });
  const opened = await openSingleFileCheckpoint(source, bpeText);
  const record = conversionRecord(opened);
  for (const line of conversionLines(source.name, record)) ctx.log(line);
  const result = await writeCheckpointPack(ctx, opts.id, t0, opened, { sourceName: source.name, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  return { ...result, checkpoint: record };
}
