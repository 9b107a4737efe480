// Text-to-image over a pack: text encoder → UNet denoising loop with classifier-free guidance →
// VAE decoder. Sees only the Runtime interface, so the same code runs in the browser worker
// (onnxruntime-web) and in Node (onnxruntime-node).
import { SeededRandom } from '../diffusion/random';
import { combineBatchedGuidance } from '../diffusion/cfg';
import { createScheduler, SD15_SCHEDULER_CONFIG, SCHEDULER_NAMES, type AnySchedulerConfig, type SchedulerName } from '../diffusion/schedulers';
import { IO } from '../packs/graphIO';
import type { PackManifest } from '../packs/manifest';
import type { PackContents } from '../packs/types';
import type { Feeds, Runtime, Session } from '../runtime/types';
import { chwToRgba, rgbaToChw, type RgbaImage } from './image';
import { loraFeeds, validateLoraValues, zeroLoraFeeds, type LoraValues } from './lora';
import { onFirstUse, packSessions } from './sessions';
import { encodeTokens, packTokenizer, tokenIdsTensor } from './textEncoder';
import { timestepTensor } from './timestep';
import { encodeToLatent } from './vaeLatent';

export interface StepInfo {
  /** index of the image being made (0-based) and how many in all */
  image: number;
  images: number;
  /** denoising steps done for this image (1..steps) */
  step: number;
  steps: number;
}

export interface GenerateOptions {
  prompts: string[];
  negativePrompt?: string;
  /** image i uses seed + i */
  seed: number;
  steps: number;
  /** classifier-free guidance scale; ≤ 1 runs the conditional branch only */
  guidance: number;
  scheduler: SchedulerName;
  /** values for the pack's LoRA slots, by layer name (manifest.lora.layers); absent layers are zero */
  lora?: LoraValues;
  onStep?: (info: StepInfo) => void;
  /** checked before each denoising step; an aborted signal ends generate() with a GenerateCancelledError */
  signal?: AbortSignal;
}

/** generate() was stopped through its signal; no image of the request is returned. */
export class GenerateCancelledError extends Error {
  override readonly name = 'GenerateCancelledError';
  constructor(
    /** denoising steps finished (of the image being made) when it stopped */
    readonly step: number,
    readonly steps: number,
  ) {
    super(`Generating was cancelled after step ${step} of ${steps}.`);
  }
}

export interface GeneratedImage extends RgbaImage {
  prompt: string;
  seed: number;
  /** set when a prompt was longer than the text encoder takes */
  truncatedNote?: string;
}

export interface Pipeline {
  readonly manifest: PackManifest;
  generate(opts: GenerateOptions): Promise<GeneratedImage[]>;
  /** RGBA image of the pack's image size → scaled latent (VAE mean × latent scale); loads the encoder on first use */
  encodeImage(image: RgbaImage): Promise<Float32Array>;
  release(): Promise<void>;
}

export async function createPipeline(runtime: Runtime, pack: PackContents): Promise<Pipeline> {
  const { manifest } = pack;
  const tokenizer = packTokenizer(pack);
  const layers = manifest.lora.layers;
  const sessions = packSessions(runtime, pack);
  const textZeros = zeroLoraFeeds(layers, 'text_encoder');
  const unetZeros = zeroLoraFeeds(layers, 'unet');
  let textEncoder: Session, unet: Session, vaeDecoder: Session;
  try {
    textEncoder = await sessions.open('text encoder', manifest.models.textEncoder, [IO.textEncoder.input, ...Object.keys(textZeros)]);
    unet = await sessions.open('UNet', manifest.models.unet, [IO.unet.sample, IO.unet.timestep, IO.unet.context, ...Object.keys(unetZeros)]);
    vaeDecoder = await sessions.open('VAE decoder', manifest.models.vaeDecoder, [IO.vaeDecoder.input]);
  } catch (e) {
    // a half-opened pipeline would hold GPU/WASM memory nobody can release
    await sessions.release().catch(() => undefined);
    throw e;
  }
  const vaeEncoder = onFirstUse(() => sessions.open('VAE encoder', manifest.models.vaeEncoder, [IO.vaeEncoder.input]));

  const { channels, height: lh, width: lw } = manifest.latent;
  const latentSize = channels * lh * lw;
  const maxLength = manifest.text.maxLength;

  const tokenize = (text: string) => tokenizer.encode(text, maxLength);

  const encodeText = async (ids: Int32Array, lora: Feeds): Promise<Float32Array> =>
    (await encodeTokens(textEncoder, tokenIdsTensor(manifest.text, [ids]), lora)).data as Float32Array;

  const schedulerConfig: AnySchedulerConfig = { ...SD15_SCHEDULER_CONFIG, ...manifest.schedule };

  return {
    manifest,

    async generate(opts) {
      validateRequest(opts);
      if (opts.lora) validateLoraValues(layers, opts.lora);
      const textLora = loraFeeds(layers, 'text_encoder', textZeros, opts.lora);
      const unetLora = loraFeeds(layers, 'unet', unetZeros, opts.lora);
      const guided = opts.guidance > 1;
      const hidden = manifest.text.hiddenSize;

      const negative = tokenize(opts.negativePrompt ?? '');
      const uncond = guided ? await encodeText(negative.ids, textLora) : undefined;

      const images: GeneratedImage[] = [];
      for (let index = 0; index < opts.prompts.length; index++) {
        const prompt = opts.prompts[index];
        const tokens = tokenize(prompt);
        const cond = await encodeText(tokens.ids, textLora);
        const batch = guided ? 2 : 1;
        // diffusers' order: [negative, positive]
        const context = guided ? concat(uncond!, cond) : cond;

        const scheduler = createScheduler(opts.scheduler, schedulerConfig);
        scheduler.setTimesteps(opts.steps);
        const seed = opts.seed + index;
        const rng = new SeededRandom(seed);
        let latents = rng.randn(latentSize);
        if (scheduler.initNoiseSigma !== 1) latents = latents.map((v) => v * scheduler.initNoiseSigma);

        const timesteps = scheduler.timesteps;
        for (let i = 0; i < timesteps.length; i++) {
          if (opts.signal) {
            // onnxruntime-web's run() settles through microtasks only: without a macrotask break
            // the worker would not see a cancel message until the whole request is over
            await nextMacrotask();
            if (opts.signal.aborted) throw new GenerateCancelledError(i, timesteps.length);
          }
          const t = timesteps[i];
          const input = scheduler.scaleModelInput(latents, t);
          const feeds: Feeds = {
            [IO.unet.sample]: { type: 'float32', dims: [batch, channels, lh, lw], data: guided ? concat(input, input) : input },
            [IO.unet.timestep]: timestepTensor(manifest.unet, t, batch),
            [IO.unet.context]: { type: 'float32', dims: [batch, maxLength, hidden], data: context },
            ...unetLora,
          };
          const out = (await unet.run(feeds, [IO.unet.output]))[IO.unet.output].data as Float32Array;
          const noise = guided ? combineBatchedGuidance(out, opts.guidance) : out;
          latents = scheduler.step(noise, t, latents, { rng }).prevSample;
          opts.onStep?.({ image: index, images: opts.prompts.length, step: i + 1, steps: timesteps.length });
        }

        const scaled = latents.map((v) => v / manifest.latent.scale);
        const decoded = await vaeDecoder.run(
          { [IO.vaeDecoder.input]: { type: 'float32', dims: [1, channels, lh, lw], data: scaled } },
          [IO.vaeDecoder.output],
        );
        const out = decoded[IO.vaeDecoder.output];
        const [, c, h, w] = out.dims;
        const image: GeneratedImage = { ...chwToRgba(out.data as Float32Array, c, h, w), prompt, seed };
        const note = truncationNote(tokens.truncated, negative.truncated && guided, maxLength);
        if (note) image.truncatedNote = note;
        images.push(image);
      }
      return images;
    },

    async encodeImage(image) {
      const { width, height } = manifest.image;
      if (image.width !== width || image.height !== height) {
        throw new Error(`encodeImage: the pack takes ${width}×${height} images, got ${image.width}×${image.height}`);
      }
      return encodeToLatent(await vaeEncoder(), manifest, rgbaToChw(image.rgba, height, width));
    },

    release: () => sessions.release(),
  };
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function truncationNote(prompt: boolean, negative: boolean, maxLength: number): string | undefined {
  const what = prompt && negative ? 'The prompt and the negative prompt are' : prompt ? 'The prompt is' : negative ? 'The negative prompt is' : '';
  return what ? `${what} longer than the text encoder's ${maxLength} tokens; the words past that were left out.` : undefined;
}

function validateRequest(o: GenerateOptions): void {
  if (!Array.isArray(o.prompts) || o.prompts.length === 0) throw new Error('generate: give at least one prompt');
  if (o.prompts.some((p) => typeof p !== 'string')) throw new Error('generate: every prompt must be a string');
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new Error(`generate: seed must be a non-negative integer, got ${o.seed}`);
  if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > 1000) throw new Error(`generate: steps must be an integer in 1..1000, got ${o.steps}`);
  if (!Number.isFinite(o.guidance) || o.guidance < 0) throw new Error(`generate: guidance must be a number ≥ 0, got ${o.guidance}`);
  if (!SCHEDULER_NAMES.includes(o.scheduler)) throw new Error(`generate: unknown scheduler "${o.scheduler}" (use ${SCHEDULER_NAMES.join(', ')})`);
}
