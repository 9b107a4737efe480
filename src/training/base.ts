// `train base`: the pack's own VAE, text encoder and UNet trained from their current weights on
// a shard of the synthetic world. Per sample:
//  - VAE: x → encoder → moments (mean ‖ logvar) → z = mean + σ·ε → decoder → x̂;
//    loss = mean((x̂ − x)²) + kl·mean(KL(N(mean, σ²) ‖ N(0, 1))); the decoder's train graph gives
//    ∂/∂z and the decoder weights, the reparameterization and KL are differentiated here, and the
//    encoder's gradient graph takes ∂/∂moments to the encoder weights;
//  - UNet + text encoder: latent = mean × scale (held fixed), the record's caption → c, the
//    denoising loss mean((ε̂(z_t, t, c) − ε)²) with zero LoRA slots; ∂loss/∂c goes back through
//    the text encoder's gradient graph.
// A batch accumulates the mean of its samples' gradients.
// `parts` picks what trains: the VAE first, alone, then the UNet and text encoder on the frozen
// VAE's latents (at a latent scale measured on those latents, see latentScale.ts) is the order SD
// used; training both at once moves the latents under the UNet. `decoder` trains the VAE's
// decoder alone on the frozen encoder's latents (what SD's ft-MSE VAE did): the latent space the
// UNet learned stays exactly the same, so a finished pack's decoder can be sharpened later.
import { buildGradientModel, buildTrainingModel, withFixedDims } from '../autodiff';
import { addNoise, alphasCumprodFor } from '../diffusion/schedule';
import type { SeededRandom } from '../diffusion/random';
import { encodeModel } from '../onnx';
import type { PackContents } from '../packs/types';
import { zeroLoraFeeds } from '../pipeline/lora';
import { encodeTokens, packTokenizer, tokenIdsTensor } from '../pipeline/textEncoder';
import { IO } from '../packs/graphIO';
import { timestepTensor } from '../pipeline/timestep';
import type { Runtime, Session, Tensor } from '../runtime/types';
import type { Shard } from '../dataset/shard';
import { gradName, TRAIN_IO } from '../packs/graphIO';
import { liftInitializers, paramFeeds, prefixed, type LiftedModel } from './lift';
import { packModelOf, readPackGraph, type GraphKey } from './packGraphs';
import { recordPixels } from './data';
import type { StepOutput } from './loop';

export interface BaseTrainer {
  /** every trained weight, keyed `<graph>/<initializer>` */
  params: Record<string, Float32Array>;
  step(rng: SeededRandom, batch: number): Promise<StepOutput>;
  /** trained weights per graph, for repackWithWeights */
  weightsByGraph(): Partial<Record<GraphKey, Record<string, Float32Array>>>;
  release(): Promise<void>;
}

const BASE_GRAPHS: readonly GraphKey[] = ['vaeEncoder', 'vaeDecoder', 'textEncoder', 'unet'];
const FIXED = { batch: 1 };

export const BASE_PARTS = ['vae', 'unet', 'decoder'] as const;
export type BasePart = (typeof BASE_PARTS)[number];
const PART_GRAPHS: Record<BasePart, readonly GraphKey[]> = { vae: ['vaeEncoder', 'vaeDecoder'], unet: ['textEncoder', 'unet'], decoder: ['vaeDecoder'] };

export interface BaseTrainerOptions {
  kl: number;
  /** what trains; the other part's weights are fixed */
  parts: readonly BasePart[];
  /** VAE mean × latentScale is what the UNet denoises */
  latentScale: number;
}

export async function createBaseTrainer(runtime: Runtime, pack: PackContents, shard: Shard, opts: BaseTrainerOptions): Promise<BaseTrainer> {
  const { manifest } = pack;
  const trainVae = opts.parts.includes('vae'), trainUnet = opts.parts.includes('unet');
  const trainDecoder = trainVae || opts.parts.includes('decoder');
  if (!trainDecoder && !trainUnet) throw new Error('train base: nothing to train (parts is empty)');
  if (trainVae && opts.parts.includes('decoder')) throw new Error('train base: parts vae and decoder overlap (vae already trains the decoder)');
  const trained = BASE_GRAPHS.filter((k) => opts.parts.some((p) => PART_GRAPHS[p].includes(k)));
  // the encoder runs in every step (the UNet denoises its latents); a frozen part's other graphs are never opened
  const used = BASE_GRAPHS.filter((k) => k === 'vaeEncoder' || trained.includes(k));
  const lifted = {} as Record<GraphKey, LiftedModel>;
  for (const key of used) lifted[key] = liftInitializers(withFixedDims(readPackGraph(pack, packModelOf(manifest, key)), FIXED));
  const names = (key: GraphKey) => Object.keys(lifted[key].params);

  const sessions: Session[] = [];
  const open = async (name: string, model: Parameters<typeof encodeModel>[0]) => {
    const s = await runtime.createSession({ name, model: encodeModel(model) });
    sessions.push(s);
    return s;
  };
  const encoderFwd = await open('vae encoder', lifted.vaeEncoder.model);
  const encoderGrad = trainVae ? await open('vae encoder grad', buildGradientModel(lifted.vaeEncoder.model, { of: [IO.vaeEncoder.output], wrt: names('vaeEncoder') })) : null;
  const decoderTrain = trainDecoder ? await open('vae decoder train', buildTrainingModel(lifted.vaeDecoder.model, { wrt: [...names('vaeDecoder'), ...(trainVae ? [IO.vaeDecoder.input] : [])], prediction: IO.vaeDecoder.output })) : null;
  const textFwd = trainUnet ? await open('text encoder', lifted.textEncoder.model) : null;
  const textGrad = trainUnet ? await open('text encoder grad', buildGradientModel(lifted.textEncoder.model, { of: [IO.textEncoder.output], wrt: names('textEncoder') })) : null;
  const unetTrain = trainUnet ? await open('unet train', buildTrainingModel(lifted.unet.model, { wrt: [...names('unet'), IO.unet.context], prediction: IO.unet.output, targetName: TRAIN_IO.target, lossName: TRAIN_IO.loss })) : null;

  const params: Record<string, Float32Array> = {};
  for (const key of trained) Object.assign(params, prefixed(`${key}/`, lifted[key].params));
  const feeds = (key: GraphKey) => paramFeeds(lifted[key].params, lifted[key].dims);
  const gradOutputs = (key: GraphKey) => names(key).map(gradName);

  const tokenizer = packTokenizer(pack);
  const layers = manifest.lora.layers;
  const unetZeros = zeroLoraFeeds(layers, 'unet');
  const textZeros = zeroLoraFeeds(layers, 'text_encoder');
  const { schedule, latent: L, image } = manifest;
  const alphas = alphasCumprodFor(schedule.betaSchedule, schedule.betaStart, schedule.betaEnd, schedule.numTrainTimesteps);
  if (schedule.predictionType !== 'epsilon') throw new Error('train base supports epsilon-prediction packs only');
  const latentDims = [1, L.channels, L.height, L.width];
  const latentSize = L.channels * L.height * L.width;
  const imageDims = [1, 3, image.height, image.width];
  const records = shard.index.records;

  const sample = async (rng: SeededRandom, acc: Record<string, Float32Array>, scale: number) => {
    const r = Math.min(records.length - 1, Math.floor(rng.random() * records.length));
    const x = recordPixels(shard, r);
    const xT = { type: 'float32' as const, dims: imageDims, data: x };

    // VAE
    const moments = (await encoderFwd.run({ [IO.vaeEncoder.input]: xT, ...feeds('vaeEncoder') }, [IO.vaeEncoder.output]))[IO.vaeEncoder.output].data as Float32Array;
    const vae = decoderTrain ? await vaeGrads(rng, xT, moments, encoderGrad, decoderTrain) : null;
    const unet = textFwd && textGrad && unetTrain ? await unetGrads(rng, r, moments, textFwd, textGrad, unetTrain) : null;
    const add = (key: GraphKey, out: Record<string, { data: unknown }>) => {
      for (const n of names(key)) {
        const g = out[gradName(n)].data as Float32Array, a = acc[`${key}/${n}`];
        for (let i = 0; i < a.length; i++) a[i] += scale * g[i];
      }
    };
    if (vae) { if (vae.enc) add('vaeEncoder', vae.enc); add('vaeDecoder', vae.dec); }
    if (unet) { add('textEncoder', unet.te); add('unet', unet.un); }
    return { rec: vae?.rec ?? 0, kl: vae?.kl ?? 0, diff: unet?.diff ?? 0 };
  };

  const vaeGrads = async (rng: SeededRandom, xT: Tensor, moments: Float32Array, encoderGrad: Session | null, decoderTrain: Session) => {
    const eps = rng.randn(latentSize);
    const z = new Float32Array(latentSize), std = new Float32Array(latentSize), logvar = new Float32Array(latentSize);
    let kl = 0;
    for (let i = 0; i < latentSize; i++) {
      // diffusers' DiagonalGaussianDistribution clamps logvar to [-30, 20]
      logvar[i] = Math.min(20, Math.max(-30, moments[latentSize + i]));
      std[i] = Math.exp(0.5 * logvar[i]);
      z[i] = moments[i] + std[i] * eps[i];
      kl += 0.5 * (moments[i] ** 2 + std[i] ** 2 - 1 - logvar[i]);
    }
    kl /= latentSize;
    const dec = await decoderTrain.run({
      [IO.vaeDecoder.input]: { type: 'float32', dims: latentDims, data: z },
      [TRAIN_IO.target]: xT,
      ...feeds('vaeDecoder'),
    }, [TRAIN_IO.loss, ...(encoderGrad ? [gradName(IO.vaeDecoder.input)] : []), ...gradOutputs('vaeDecoder')]);
    const rec = (dec[TRAIN_IO.loss].data as Float32Array)[0];
    // a frozen encoder: its KL does not move either, and nothing flows back through z
    if (!encoderGrad) return { enc: null, dec, rec, kl: 0 };
    const dz = dec[gradName(IO.vaeDecoder.input)].data as Float32Array;
    const dMoments = new Float32Array(2 * latentSize);
    for (let i = 0; i < latentSize; i++) {
      const raw = moments[latentSize + i];
      const inRange = raw >= -30 && raw <= 20 ? 1 : 0;
      dMoments[i] = dz[i] + opts.kl * moments[i] / latentSize;
      dMoments[latentSize + i] = inRange * (dz[i] * eps[i] * 0.5 * std[i] + opts.kl * 0.5 * (std[i] ** 2 - 1) / latentSize);
    }
    const enc = await encoderGrad.run({
      [IO.vaeEncoder.input]: xT,
      [gradName(IO.vaeEncoder.output)]: { type: 'float32', dims: [1, 2 * L.channels, L.height, L.width], data: dMoments },
      ...feeds('vaeEncoder'),
    }, gradOutputs('vaeEncoder'));
    return { enc, dec, rec, kl };
  };

  const unetGrads = async (rng: SeededRandom, r: number, moments: Float32Array, textFwd: Session, textGrad: Session, unetTrain: Session) => {
    const ids = tokenIdsTensor(manifest.text, [tokenizer.encode(records[r].caption, manifest.text.maxLength).ids]);
    const context = await encodeTokens(textFwd, ids, { ...textZeros, ...feeds('textEncoder') });
    const latent = moments.slice(0, latentSize).map((v) => v * opts.latentScale);
    const t = Math.min(schedule.numTrainTimesteps - 1, Math.floor(rng.random() * schedule.numTrainTimesteps));
    const noise = rng.randn(latentSize);
    const un = await unetTrain.run({
      [IO.unet.sample]: { type: 'float32', dims: latentDims, data: addNoise(latent, noise, t, alphas) },
      [IO.unet.timestep]: timestepTensor(manifest.unet, t, 1),
      [IO.unet.context]: context,
      [TRAIN_IO.target]: { type: 'float32', dims: latentDims, data: noise },
      ...unetZeros,
      ...feeds('unet'),
    }, [TRAIN_IO.loss, TRAIN_IO.contextGrad, ...gradOutputs('unet')]);
    const te = await textGrad.run({
      [IO.textEncoder.input]: ids,
      [TRAIN_IO.textSeed]: { type: 'float32', dims: context.dims, data: un[TRAIN_IO.contextGrad].data },
      ...textZeros,
      ...feeds('textEncoder'),
    }, gradOutputs('textEncoder'));
    return { te, un, diff: (un[TRAIN_IO.loss].data as Float32Array)[0] };
  };

  return {
    params,
    async step(rng, batch) {
      const grads = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, new Float32Array(v.length)]));
      let rec = 0, kl = 0, diff = 0;
      for (let b = 0; b < batch; b++) {
        const s = await sample(rng, grads, 1 / batch);
        rec += s.rec / batch; kl += s.kl / batch; diff += s.diff / batch;
      }
      return { loss: rec + opts.kl * kl + diff, grads, parts: { reconstruction: rec, kl, denoising: diff } };
    },
    weightsByGraph: () => Object.fromEntries(trained.map((k) => [k, lifted[k].params])),
    async release() { await Promise.all(sessions.splice(0).map((s) => s.release())); },
  };
}
