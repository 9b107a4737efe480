// `hyperbooth pack --from model.safetensors` (or a diffusers folder of safetensors): the graphs
// come from src/models with the checkpoint's weights (./graphs.ts), and everything after that
// (LoRA slots, train graphs, fp16, chunks, aux bases, manifest, the staging folder that replaces
// --out only on success) is the ONNX-export path's writer in src/packer/pack.ts. Node only: it
// opens files; the reading and graph building it calls take a ByteSource and run anywhere.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readClipBpeText } from '../diffusion/clipBpeNode';
import { tokenizerFromVocabMerges } from '../diffusion/tokenizerBuild';
import { ClipTokenizer } from '../diffusion/tokenizer';
import { loadHypernet } from '../packer/hypernet';
import { readSchedule as readSchedulerConfig, writePackStaged, type CheckpointConversion, type PackOptions, type PackResult } from '../packer/pack';
import { splitDiffusers } from './components';
import {
  conversionLines, conversionRecord, describeSchedule as describe, openSingleFileCheckpoint, shippedTokenizer as tokenizerFromShippedBpe, writeCheckpointPack,
  type CheckpointProgress, type OpenedCheckpoint,
} from './convertCheckpoint';
import { CheckpointError } from './errors';
import { openFileByteSource, type ClosableByteSource } from './nodeSource';
import { indexSafetensors } from './safetensorsIndex';
import { SD15_SCHEDULE } from './schedule';

export type { CheckpointProgress } from './convertCheckpoint';

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

async function openSingleFile(path: string, opened: ClosableByteSource[]): Promise<OpenedCheckpoint> {
  if (!existsSync(path)) throw new CheckpointError('missing-part', `--from ${path}: no such file`);
  const src = await openFileByteSource(path);
  opened.push(src);
  return openSingleFileCheckpoint(src, readClipBpeText);
}

async function openDiffusers(dir: string, opened: ClosableByteSource[]): Promise<OpenedCheckpoint> {
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
  let tokenizer: OpenedCheckpoint['tokenizer'] | null = null;
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

const shippedTokenizer = (t: OpenedCheckpoint['tensors']) => tokenizerFromShippedBpe(t, readClipBpeText());

export async function packCheckpoint(opts: CheckpointPackOptions): Promise<PackResult & { checkpoint: CheckpointConversion }> {
  const from = resolve(opts.from);
  const progress = opts.onProgress ?? (() => undefined);
  const sources: ClosableByteSource[] = [];
  try {
    progress({ stage: 'index', done: 0, total: 1 });
    const isDir = existsSync(from) && statSync(from).isDirectory();
    const opened = isDir ? await openDiffusers(from, sources) : await openSingleFile(from, sources);
    const record = conversionRecord(opened);
    const log = opts.log ?? (() => undefined);
    for (const line of conversionLines(basename(from), record)) log(line);

    const result = await writePackStaged(opts, from, (ctx, id, t0) => writeCheckpointPack(ctx, id, t0, opened, {
      sourceName: basename(from), onProgress: progress,
      ...(opts.hypernet ? { hypernetModel: loadHypernet(opts.hypernet) } : {}),
    }));
    return { ...result, checkpoint: record };
  } finally {
    for (const s of sources) await s.close();
  }
}
