// The whole `train base` run: open the pack and shard, train, and write the trained pack to
// <run>/pack (a complete pack folder: load it with --pack in the next stage or the app).
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { loadPackFromDisk } from '../packs/node';
import { writePack } from '../packs/writePack';
import type { Runtime } from '../runtime/types';
import { createBaseTrainer, type BasePart } from './base';
import { measureLatentScale } from './latentScale';
import { openShard } from './data';
import { cosineFactor, trainLoop, type CheckpointedRunOptions, type TrainLoopResult } from './loop';
import type { PackManifest } from '../packs/manifest';
import { repackWithWeights } from './packGraphs';

export interface BaseRunOptions extends CheckpointedRunOptions {
  kl?: number;
  /** default both */
  parts?: readonly BasePart[];
  /** the pack's latent scale for the UNet's latents; 'auto' measures 1 / std on the shard (latentScale.ts) */
  latentScale?: number | 'auto';
  /** a cosine learning-rate decay to 0.01× over this many steps; constant when absent */
  decaySteps?: number;
  /**
   * write the trained graphs onto this pack instead of --pack (a finished pack whose decoder is
   * sharpened after its UNet and hypernetwork were trained: `--parts decoder` only, and the two
   * packs must share the VAE encoder bit for bit, so the latents the decoder learned are its)
   */
  onto?: string;
}

export const BASE_DEFAULTS = { lr: 1e-3, batch: 1, kl: 1e-6, seed: 0, checkpointEvery: 50, split: 'train', parts: ['vae', 'unet'] as readonly BasePart[] } as const;

/** Shown by the app beside the upload: `train base` learns only from the synthetic world. */
export function syntheticDomainNotice(size: number): string {
  return `This demo pack was trained only on HyperBooth's synthetic ${size}×${size} portraits (npx hyperbooth dataset). ` +
    'A synthetic selfie (npx hyperbooth dataset selfie --id 3 --out selfie.png) personalizes best; a real photo runs too, ' +
    'but looks like nothing the pack has seen. For real photos, add a Stable Diffusion 1.5 checkpoint (.safetensors) under Model pack with "Add a model from a file…", ' +
    'or convert it with npx hyperbooth pack (README: "Adding your Stable Diffusion 1.5").';
}

/** "Tiny (random weights)" → "Tiny (trained on synthetic portraits)"; the steps go in the description. */
export function trainedPackName(name: string): string {
  return `${name.replace(/( \([^()]*\))+$/, '')} (trained on synthetic portraits)`;
}

const PART_LABEL: Record<BasePart, string> = { vae: 'VAE', unet: 'UNet and text encoder', decoder: 'VAE decoder' };

function sameEncoder(a: PackManifest, b: PackManifest): boolean {
  const files = (m: PackManifest) => [m.models.vaeEncoder.file, ...(m.models.vaeEncoder.externalData ?? [])]
    .map((path) => m.files.find((f) => f.path === path)?.sha256 ?? path);
  return JSON.stringify(files(a)) === JSON.stringify(files(b));
}

export async function runBase(runtime: Runtime, o: BaseRunOptions): Promise<TrainLoopResult & { packDir: string; latentScale: number }> {
  const batch = o.batch ?? BASE_DEFAULTS.batch;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${batch}`);
  const kl = o.kl ?? BASE_DEFAULTS.kl;
  if (!(kl >= 0)) throw new Error(`--kl must be a non-negative number, got ${kl}`);
  const pack = await loadPackFromDisk(o.pack);
  const shard = openShard(o.data, o.split ?? BASE_DEFAULTS.split, pack.manifest);
  const parts = o.parts ?? BASE_DEFAULTS.parts;
  if (o.decaySteps !== undefined && !(Number.isInteger(o.decaySteps) && o.decaySteps >= 1)) throw new Error(`--decay-steps must be a positive integer, got ${o.decaySteps}`);
  const onto = o.onto === undefined ? null : await loadPackFromDisk(o.onto);
  if (onto && (parts.length !== 1 || parts[0] !== 'decoder')) throw new Error('--onto takes --parts decoder only (the other parts change what the pack it is written onto was trained on)');
  if (onto && !sameEncoder(pack.manifest, onto.manifest)) {
    throw new Error(`--onto ${o.onto}: its VAE encoder differs from --pack's, so the decoder trained here would not match its latents`);
  }
  const latentScale = o.latentScale === 'auto' ? await measureLatentScale(runtime, pack, shard) : o.latentScale ?? pack.manifest.latent.scale;
  if (!(latentScale > 0)) throw new Error(`--latent-scale must be positive or auto, got ${latentScale}`);
  const trainer = await createBaseTrainer(runtime, pack, shard, { kl, parts, latentScale });
  try {
    const lr = o.lr ?? BASE_DEFAULTS.lr;
    const seed = o.seed ?? BASE_DEFAULTS.seed;
    const result = await trainLoop({
      stage: 'base',
      runDir: o.out,
      steps: o.steps,
      lr,
      seed,
      params: trainer.params,
      config: { pack: pack.manifest.id, packFiles: pack.manifest.files.map((f) => f.sha256), shard: shard.index.sha256 ?? null, lr, batch, kl, seed, parts: [...parts], latentScale, ...(o.decaySteps ? { decaySteps: o.decaySteps } : {}) },
      ...(o.decaySteps ? { lrFactor: (step: number) => cosineFactor(step, o.decaySteps!) } : {}),
      checkpointEvery: o.checkpointEvery ?? BASE_DEFAULTS.checkpointEvery,
      resume: o.resume ?? false,
      step: (rng) => trainer.step(rng, batch),
      progress: o.progress,
    });
    const packDir = join(o.out, 'pack');
    rmSync(packDir, { recursive: true, force: true });
    const base = onto ?? pack;
    const trainedText = `${parts.map((p) => PART_LABEL[p]).join(', ')} trained ${result.step} steps on synthetic portraits`;
    writePack(packDir, repackWithWeights(base, trainer.weightsByGraph(), {
      name: trainedPackName(base.manifest.name),
      description: `${(base.manifest.description ?? '').replace(/^Random-weight miniature/, 'Miniature')}; ${onto ? trainedText.replace(/ trained/, ' fine-tuned') : trainedText}`,
      latentScale: onto ? onto.manifest.latent.scale : latentScale,
      notice: syntheticDomainNotice(base.manifest.image.width),
    }));
    return { ...result, packDir, latentScale: onto ? onto.manifest.latent.scale : latentScale };
  } finally {
    await trainer.release();
  }
}
