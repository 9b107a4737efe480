// The four graphs of a pack built by the project's own builders (src/models) with a checkpoint's
// weights: configs from the tensors' shapes, parameters by diffusers name, small ones inline and
// the rest left in the checkpoint until the chunk writer copies them. No Node API is used here,
// so this runs unchanged in a Web Worker over a File.
// the builders one by one, not through '../models', whose tiny-pack writer needs Node
import { buildClipTextModel, type ClipTextConfig } from '../models/clipTextModel';
import { buildUNet, type UNetConfig } from '../models/unet2dCondition';
import { buildVaeDecoder, buildVaeEncoder, type VaeConfig } from '../models/autoencoderKL';
import { OPSET } from '../models/opset';
import type { ModelProto } from '../onnx';
import type { LoraLayer } from '../packs/manifest';
import { keepOutputs } from '../packer/graphEdit';
import type { CheckpointTensors } from './components';
import { imageSizeStep, textConfig, unetConfig, vaeConfig } from './configs';
import { CheckpointError } from './errors';
import { CheckpointWeights } from './weights';

/** SD1.x's image side when --image-size is not given */
export const SD1_IMAGE_SIZE = 512;

export interface BuiltPart { model: ModelProto; weights: CheckpointWeights }

export interface CheckpointGraphs {
  configs: { unet: UNetConfig; text: ClipTextConfig; vae: VaeConfig };
  text: BuiltPart & { layers: LoraLayer[] };
  unet: BuiltPart & { layers: LoraLayer[] };
  vaeEncoder: BuiltPart;
  vaeDecoder: BuiltPart;
  geometry: { latent: number; image: number; scale: number };
  /** float parameters per model */
  parameters: { unet: number; text_encoder: number; vae: number };
}

export interface GraphOptions {
  imageSize?: number;
  textEncoderLora?: boolean;
  signal?: AbortSignal;
}

const SD1_VAE_SCALE = 0.18215;

export async function buildCheckpointGraphs(t: CheckpointTensors, opts: GraphOptions = {}): Promise<CheckpointGraphs> {
  const text = textConfig(t);
  const vaeProbe = vaeConfig(t, 0);
  const unetProbe = unetConfig(t, 0, text.maxLength);
  if (text.hiddenSize !== unetProbe.crossAttentionDim) {
    throw new CheckpointError('not-sd1', `the text encoder is ${text.hiddenSize} wide but the UNet's cross-attention reads ${unetProbe.crossAttentionDim}: the parts come from different models`);
  }
  if (vaeProbe.latentChannels !== unetProbe.inChannels) {
    throw new CheckpointError('not-sd1', `the VAE makes ${vaeProbe.latentChannels} latent channels but the UNet takes ${unetProbe.inChannels}: the parts come from different models`);
  }
  const { vaeScale, step } = imageSizeStep(vaeProbe, unetProbe);
  const image = opts.imageSize ?? SD1_IMAGE_SIZE;
  if (!Number.isInteger(image) || image <= 0 || image % step) {
    throw new CheckpointError('not-sd1', `--image-size ${image} is not a multiple of ${step} (the VAE's factor ${vaeScale} × the UNet's ${step / vaeScale})`);
  }
  const configs = { unet: unetConfig(t, image / vaeScale, text.maxLength), text, vae: vaeConfig(t, image) };

  const weights = {
    text: new CheckpointWeights('text encoder', t.files.text_encoder, t.parts.text_encoder),
    unet: new CheckpointWeights('UNet', t.files.unet, t.parts.unet),
    vae: new CheckpointWeights('VAE', t.files.vae, t.parts.vae),
  };
  for (const w of Object.values(weights)) await w.prefetchSmall(opts.signal);

  const toModel = (b: { toModel: (o: { opset: number; metadata?: Record<string, string> }) => ModelProto }) =>
    b.toModel({ opset: OPSET, metadata: { 'hyperbooth.source': 'checkpoint' } });
  const te = buildClipTextModel(text, { seed: 0, loraSlots: !!opts.textEncoderLora, weights: weights.text });
  const unet = buildUNet(configs.unet, { seed: 0, loraSlots: true, weights: weights.unet });
  const ve = buildVaeEncoder(configs.vae, { seed: 0, weights: weights.vae });
  const vd = buildVaeDecoder(configs.vae, { seed: 0, weights: weights.vae });
  for (const w of Object.values(weights)) {
    const unused = w.unused();
    if (unused.length) {
      throw new CheckpointError('not-sd1', `${w.file}: ${unused.length} ${w.part} tensor${unused.length > 1 ? 's' : ''} that SD1.x's graph does not use (${unused.slice(0, 3).join(', ')}${unused.length > 3 ? ', …' : ''}): a layout HyperBooth does not know`);
    }
  }
  const count = (part: keyof typeof t.parts) => [...t.parts[part].values()].reduce((s, r) => s + r.entry.shape.reduce((a, b) => a * b, 1), 0);
  const layers = (slots: { name: string; nIn: number; nOut: number }[], target: LoraLayer['target']) => slots.map((s) => ({ name: s.name, target, nIn: s.nIn, nOut: s.nOut }));
  return {
    configs,
    text: { model: keepOutputs(toModel(te.builder), ['last_hidden_state']), weights: weights.text, layers: opts.textEncoderLora ? layers(te.slots, 'text_encoder') : [] },
    unet: { model: toModel(unet.builder), weights: weights.unet, layers: layers(unet.slots, 'unet') },
    vaeEncoder: { model: toModel(ve.builder), weights: weights.vae },
    vaeDecoder: { model: toModel(vd.builder), weights: weights.vae },
    geometry: { latent: image / vaeScale, image, scale: SD1_VAE_SCALE },
    parameters: { unet: count('unet'), text_encoder: count('text_encoder'), vae: count('vae') },
  };
}
