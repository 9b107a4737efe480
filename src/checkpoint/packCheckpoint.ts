// `hyperbooth pack --from model.safetensors` (or a diffusers folder of safetensors): the graphs
// come from src/models with the checkpoint's weights (./graphs.ts), and everything after that
// (LoRA slots, train graphs, fp16, chunks, aux bases, manifest, the staging folder that replaces
// --out only on success) is the ONNX-export path's writer in src/packer/pack.ts. Node only: it
// opens files; the reading and graph building it calls take a ByteSource and run anywhere.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { clipTokenizerFromBpe } from '../diffusion/clipBpe';
import { readClipBpeText } from '../diffusion/clipBpeNode';
import { tokenizerFromVocabMerges, type ClipTokenizerJson } from '../diffusion/tokenizerBuild';
import { ClipTokenizer } from '../diffusion/tokenizer';
import type { PackManifest } from '../packs/manifest';
import { checkLayerCount, hasSd15Dimensions } from '../packer/layers';
import {
  finishPack, readSchedule as readSchedulerConfig, writePackStaged, writeTextEncoderPart, writeUnetPart, writeVaePart,
  type CheckpointConversion, type GraphSource, type PackOptions, type PackResult,
} from '../packer/pack';
import { splitDiffusers, splitSingleFile, type CheckpointTensors } from './components';
import { CheckpointError } from './errors';
import { buildCheckpointGraphs, type BuiltPart } from './graphs';
import { openFileByteSource, type ClosableByteSource } from './nodeSource';
import { indexSafetensors } from './safetensorsIndex';
import { readSchedule, SD15_SCHEDULE } from './schedule';

/** Progress per stage: reading the header, building the graphs, then the bytes copied per part. */
export interface CheckpointProgress { stage: 'index' | 'graphs' | 'text_encoder' | 'vae_decoder' | 'vae_encoder' | 'unet' | 'done'; done: number; total: number }

export interface CheckpointPackOptions extends PackOptions {
  onProgress?: (p: CheckpointProgress) => void;
}

/** A .safetensors file, or a folder holding unet/…safetensors: what `pack --from` hands here. */
export function isCheckpointInput(from: string): boolean {
  const p = resolve(from);
  if (!existsSync(p)) return /\.(safetensors|ckpt|pt|pth|bin)$/i.test(p);
  if (statSync(p).isFile()) return true;
  return existsSync(join(p, 'unet', 'diffusion_pytorch_model.safetensors')) || existsSync(join(p, 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
}

const DIFFUSERS_FILES = {
  unet: ['unet/diffusion_pytorch_model.safetensors', 'unet/diffusion_pytorch_model.fp16.safetensors'],
  vae: ['vae/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.fp16.safetensors'],
  text_encoder: ['text_encoder/model.safetensors', 'text_encoder/model.fp16.safetensors'],
} as const;

interface Opened {
  tensors: CheckpointTensors;
  tokenizer: { json: ClipTokenizerJson; what: string };
  schedule: { schedule: PackManifest['schedule']; what: string; used: string[] };
  sources: ClosableByteSource[];
}

async function openSingleFile(path: string, opened: ClosableByteSource[]): Promise<Omit<Opened, 'sources' | 'tokenizer'> & { vocabFromModel: true }> {
  if (!existsSync(path)) throw new CheckpointError('missing-part', `--from ${path}: no such file`);
  const src = await openFileByteSource(path);
  opened.push(src);
  const tensors = splitSingleFile(await indexSafetensors(src));
  const sched = await readSchedule(tensors.extras, src.name);
  return {
    tensors,
    schedule: { schedule: sched.schedule, what: sched.from ? `read from ${sched.from}: ${describe(sched.schedule)}` : `SD1.5's default, the file has no schedule buffers: ${describe(sched.schedule)}`, used: sched.from ? [sched.from] : [] },
    vocabFromModel: true,
  };
}

const describe = (s: PackManifest['schedule']) => `${s.betaSchedule} ${s.betaStart} → ${s.betaEnd} over ${s.numTrainTimesteps} steps`;

async function openDiffusers(dir: string, opened: ClosableByteSource[]): Promise<Omit<Opened, 'sources'>> {
  const find = (part: keyof typeof DIFFUSERS_FILES) => {
    const rel = DIFFUSERS_FILES[part].find((r) => existsSync(join(dir, r)));
    if (!rel) {
      const sharded = existsSync(join(dir, `${DIFFUSERS_FILES[part][0]}.index.json`));
      throw new CheckpointError('missing-part', `${basename(dir)}: no ${DIFFUSERS_FILES[part][0]}${sharded ? ' (it is sharded into several files, which HyperBooth does not read: give the single-file checkpoint)' : ' (a diffusers folder of safetensors has unet/, vae/ and text_encoder/)'}`);
    }
    return join(dir, rel);
  };
  const index = async (part: keyof typeof DIFFUSERS_FILES) => {
    const src = await openFileByteSource(find(part));
    opened.push(src);
    return indexSafetensors({ ...src, name: `${basename(dir)}/${DIFFUSERS_FILES[part].find((r) => existsSync(join(dir, r)))}` });
  };
  const tensors = splitDiffusers(await index('unet'), await index('vae'), await index('text_encoder'));
  const schedPath = join(dir, 'scheduler', 'scheduler_config.json');
  let schedule = SD15_SCHEDULE;
  let what = `SD1.5's default (no scheduler/scheduler_config.json): ${describe(SD15_SCHEDULE)}`;
  if (existsSync(schedPath)) {
    schedule = readSchedulerConfig(schedPath);
    if (schedule.predictionType !== 'epsilon') {
      throw new CheckpointError('v-prediction', `${basename(dir)}: scheduler_config.json says prediction_type ${schedule.predictionType}. HyperBooth's fine-tune and samplers take epsilon-prediction SD1.x models: give an epsilon model (SD1.5 and nearly all of its fine-tunes are).`);
    }
    what = `read from scheduler/scheduler_config.json: ${describe(schedule)}`;
  }
  const vocab = join(dir, 'tokenizer', 'vocab.json');
  const merges = join(dir, 'tokenizer', 'merges.txt');
  let tokenizer: Opened['tokenizer'] | null = null;
  if (existsSync(vocab) && existsSync(merges)) {
    try {
      const json = tokenizerFromVocabMerges(readFileSync(vocab, 'utf8'), readFileSync(merges, 'utf8'));
      ClipTokenizer.fromJSON(json).encode('a photo', 8);
      tokenizer = { json, what: 'tokenizer/vocab.json + merges.txt' };
    } catch (e) {
      throw new CheckpointError('missing-part', `${basename(dir)}/tokenizer cannot be read as a CLIP tokenizer: ${(e as Error).message}`);
    }
  }
  return { tensors, schedule: { schedule, what, used: [] }, tokenizer: tokenizer ?? shippedTokenizer(tensors) };
}

function shippedTokenizer(t: CheckpointTensors): Opened['tokenizer'] {
  const rows = t.parts.text_encoder.get('text_model.embeddings.token_embedding.weight')?.entry.shape[0];
  if (rows === undefined) throw new CheckpointError('not-sd1', `${t.files.text_encoder}: no token embedding (text_model.embeddings.token_embedding.weight)`);
  try {
    const json = clipTokenizerFromBpe(readClipBpeText(), rows);
    return { json, what: rows === 49408 ? "CLIP's BPE vocabulary (shipped with HyperBooth), 49408 ids" : `CLIP's BPE vocabulary (shipped) cut to the model's ${rows} ids` };
  } catch (e) {
    throw new CheckpointError('not-sd1', `${t.files.text_encoder}: the token embedding has ${rows} rows: ${(e as Error).message}`);
  }
}

function conversionRecord(o: Omit<Opened, 'sources'>): CheckpointConversion {
  const dtypes: Record<string, number> = {};
  for (const part of Object.values(o.tensors.parts)) for (const r of part.values()) dtypes[r.entry.dtype] = (dtypes[r.entry.dtype] ?? 0) + 1;
  const ignored = [...[...o.tensors.extras.keys()].filter((k) => !o.schedule.used.includes(k)), ...o.tensors.buffers];
  return { layout: o.tensors.layout, dtypes, schedule: o.schedule.what, tokenizer: o.tokenizer.what, used: o.schedule.used, ignored };
}

export async function packCheckpoint(opts: CheckpointPackOptions): Promise<PackResult & { checkpoint: CheckpointConversion }> {
  const from = resolve(opts.from);
  const progress = opts.onProgress ?? (() => undefined);
  const sources: ClosableByteSource[] = [];
  try {
    progress({ stage: 'index', done: 0, total: 1 });
    const isDir = existsSync(from) && statSync(from).isDirectory();
    const opened: Omit<Opened, 'sources'> = isDir
      ? await openDiffusers(from, sources)
      : await openSingleFile(from, sources).then((o) => ({ ...o, tokenizer: shippedTokenizer(o.tensors) }));
    const record = conversionRecord(opened);
    const log = opts.log ?? (() => undefined);
    log(`${basename(from)}: ${record.layout}, tensors ${Object.entries(record.dtypes).map(([d, n]) => `${n} ${d}`).join(', ')} (read as float32)`);
    log(`schedule: ${record.schedule}`);
    log(`tokenizer: ${record.tokenizer}`);
    if (record.ignored.length) log(`ignored ${record.ignored.length} other keys: ${record.ignored.slice(0, 6).join(', ')}${record.ignored.length > 6 ? ', …' : ''}`);

    const result = await writePackStaged(opts, from, async (ctx, id, t0) => {
      progress({ stage: 'graphs', done: 0, total: 1 });
      const g = await buildCheckpointGraphs(opened.tensors, { ...(opts.imageSize !== undefined ? { imageSize: opts.imageSize } : {}), textEncoderLora: !!opts.textEncoderLora, ...(opts.signal ? { signal: opts.signal } : {}) });
      const maxLength = g.configs.text.maxLength;
      const source = (part: CheckpointProgress['stage'], b: BuiltPart, file: string): GraphSource => {
        const total = b.model.graph!.initializer!.filter((t) => t.externalData?.length).reduce((s, t) => s + Number(t.externalData!.find((e) => e.key === 'length')!.value), 0);
        let done = 0;
        return {
          name: `${file} (${part})`, storage: `safetensors ${Object.keys(record.dtypes).join('/')}`, readWeights: b.weights.read,
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
      const text = await writeTextEncoderPart(ctx, source('text_encoder', g.text, files.text_encoder), g.text.model, g.text.layers, textCount, maxLength);
      const vaeDecoder = await writeVaePart(ctx, 'vae_decoder', source('vae_decoder', g.vaeDecoder, files.vae), g.vaeDecoder.model);
      const vaeEncoder = await writeVaePart(ctx, 'vae_encoder', source('vae_encoder', g.vaeEncoder, files.vae), g.vaeEncoder.model);
      const unetCount = checkLayerCount('unet', g.unet.layers, hasSd15Dimensions('unet', g.unet.layers));
      ctx.log(`UNet: ${unetCount.message}`);
      const facts = { latentChannels: g.configs.unet.inChannels, contextDim: g.configs.unet.crossAttentionDim, timestepShape: 'batch' as const };
      const unet = await writeUnetPart(ctx, source('unet', g.unet, files.unet), facts, g.unet.model, g.unet.layers, unetCount, g.geometry.latent, maxLength);
      const storage = { text_encoder: files.text_encoder, unet: files.unet, vae_encoder: files.vae, vae_decoder: files.vae };
      const label = basename(from).replace(/\.safetensors$/i, '');
      const finished = finishPack(ctx, id, t0, {
        schedule: opened.schedule.schedule, tokenizer: opened.tokenizer.json,
        text: { ...text, layers: g.text.layers, maxLength, hiddenSize: g.configs.text.hiddenSize, inputDtype: 'int32' },
        vaeEncoder, vaeDecoder, unet, unetLayers: g.unet.layers, geometry: g.geometry,
        latentChannels: g.configs.unet.inChannels, timestepDtype: 'float32', timestepShape: 'batch',
        source: { folder: basename(from), storage }, checkpoint: record,
        name: `Stable Diffusion (${label})`,
        description: `Converted by hyperbooth pack from the ${record.layout === 'single-file' ? 'checkpoint' : 'diffusers folder'} ${basename(from)}${ctx.fp16 ? ', float16 weights' : ''}`,
      });
      progress({ stage: 'done', done: 1, total: 1 });
      return finished;
    });
    return { ...result, checkpoint: record };
  } finally {
    for (const s of sources) await s.close();
  }
}
