// The graphs a personalization runs on one pack, each opened on first use and kept for the next
// one (hypernetwork, VAE encoder, the fine-tune's train graphs, and the plain text encoder and
// UNet of the held-out loss), and what stays fixed over every fine-tune on the pack: the aux
// bases, the prompt's tokens, the noise schedule. createPersonalizer runs on it; the training
// stages, which drive trainStep themselves, use it directly.
import { alphasCumprodFor } from '../diffusion/schedule';
import { resizeSquare, toPixelValues } from '../face/crop';
import type { RgbaImage as FaceImage } from '../face/image';
import { readAuxFile, type AuxBases } from '../lidb/aux';
import { HYPERNET_IO, IO, TRAIN_IO } from '../packs/graphIO';
import type { PackManifest } from '../packs/manifest';
import type { PackContents } from '../packs/types';
import { onFirstUse, packSessions } from '../pipeline/sessions';
import { packTokenizer, tokenIdsTensor } from '../pipeline/textEncoder';
import { encodeToLatent } from '../pipeline/vaeLatent';
import type { Runtime, Session } from '../runtime/types';
import type { EvalSessions } from './evaluate';
import type { TrainContext, TrainSessions } from './trainStep';

export interface FineTuneGraphs {
  readonly manifest: PackManifest;
  readonly aux: AuxBases;
  /** the fixed part of a train step on `latent` (VAE mean × latent scale of one image) */
  context(latent: Float32Array): TrainContext;
  /** the train graphs and the text encoder they take c from (the gradient graph where the pack has one) */
  train(): Promise<TrainSessions>;
  /** the plain text encoder and UNet, for the held-out loss */
  forward(): Promise<EvalSessions>;
  /** refused when the pack has no hypernetwork */
  hypernet(): Promise<Session>;
  /** VAE mean × latent scale of a square face image, resampled to the pack's image size */
  encodeLatent(face: FaceImage): Promise<Float32Array>;
  release(): Promise<void>;
}

/** "a <trigger> face": HyperDreamBooth's fine-tune prompt, without a class prior. */
export const personalizePrompt = (trigger: string): string => `a ${trigger} face`;

/**
 * A pack with a hypernetwork but no train graphs personalizes with 0 fine-tune steps (the
 * prediction as is); asking it for steps is refused before any graph opens.
 */
export function requireTrainGraphs(manifest: PackManifest, steps: number): void {
  if (steps > 0 && !manifest.train) {
    throw new Error(`model pack "${manifest.id}" has no fine-tune graphs (manifest "train"): personalize with 0 fine-tune steps to use the hypernetwork's prediction`);
  }
}

/** Checks the pack can personalize; opens nothing until a graph is first asked for. */
export function openFineTuneGraphs(runtime: Runtime, pack: PackContents): FineTuneGraphs {
  const { manifest, files } = pack;
  if (!manifest.lidb) throw new Error(`model pack "${manifest.id}" has no LiDB aux bases (manifest "lidb"), so it cannot personalize`);
  if (!manifest.train && !manifest.hypernet) {
    throw new Error(`model pack "${manifest.id}" has neither a hypernetwork nor fine-tune graphs (manifest "hypernet", "train"), so it cannot personalize`);
  }
  const train = manifest.train;
  const aux = readAuxFile(files(manifest.lidb.aux), manifest.lora.layers);
  const inputIds = tokenIdsTensor(manifest.text, [packTokenizer(pack).encode(personalizePrompt(manifest.trigger), manifest.text.maxLength).ids]);
  const { schedule } = manifest;
  const alphasCumprod = alphasCumprodFor(schedule.betaSchedule, schedule.betaStart, schedule.betaEnd, schedule.numTrainTimesteps);

  const sessions = packSessions(runtime, pack);
  const textEncoder = onFirstUse(() => sessions.open('text encoder', manifest.models.textEncoder, [IO.textEncoder.input]));
  const unet = onFirstUse(() => sessions.open('UNet', manifest.models.unet, [IO.unet.sample, IO.unet.timestep, IO.unet.context]));
  const vaeEncoder = onFirstUse(() => sessions.open('VAE encoder', manifest.models.vaeEncoder, [IO.vaeEncoder.input]));

  return {
    manifest,
    aux,

    context(latent) {
      const { channels, height, width } = manifest.latent;
      if (latent.length !== channels * height * width) throw new Error(`latent has ${latent.length} values, the pack's is ${channels}×${height}×${width}`);
      return { manifest, aux, inputIds, latent, alphasCumprod };
    },

    train: onFirstUse(async (): Promise<TrainSessions> => {
      requireTrainGraphs(manifest, 1);
      // the packer builds both train graphs with holdWeightsOnce (src/packer/packParts.ts)
      const unetTrain = await sessions.open('UNet train step', train!.unet, [IO.unet.sample, IO.unet.timestep, IO.unet.context, TRAIN_IO.target], { holdsWeightsOnce: true });
      // a pack whose LoRA covers the UNet only ships no text-encoder gradient graph; where it
      // does, that graph also gives c, and the plain text encoder is not opened beside it
      if (!train!.textEncoder) return { textEncoder: await textEncoder(), unetTrain };
      return { unetTrain, textEncoderGrad: await sessions.open('text encoder gradient', train!.textEncoder, [IO.textEncoder.input, TRAIN_IO.textSeed], { holdsWeightsOnce: true }) };
    }),

    forward: async () => ({ textEncoder: await textEncoder(), unet: await unet() }),

    hypernet: onFirstUse(() => {
      if (!manifest.hypernet) return Promise.reject(new Error('the pack has no hypernetwork'));
      return sessions.open('hypernetwork', manifest.hypernet.model, [HYPERNET_IO.input]);
    }),

    async encodeLatent(face) {
      const { width, height } = manifest.image;
      if (width !== height) throw new Error(`the pack's images are ${width}×${height}; a square face crop needs a square image size`);
      return encodeToLatent(await vaeEncoder(), manifest, toPixelValues(resizeSquare(face, width), '[-1,1]'));
    },

    release: () => sessions.release(),
  };
}
