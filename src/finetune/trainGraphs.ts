// The two graphs a pack ships for the in-browser fine-tune, made by the project's autodiff from
// the pack's own UNet and text encoder (with LoRA slots):
//  - UNet train step: (z_t, t, c, slots, ε) → loss = mean((ε̂ − ε)²), ∂loss/∂slots, ∂loss/∂c;
//  - text-encoder VJP: (ids, slots, ∂loss/∂c) → c, ∂loss/∂slots of the text encoder,
// so the text-encoder layers train through c by the chain rule. Both take the weights of the
// graph they came from; shareExternalData writes those once for both.
import { buildGradientModel, buildTrainingModel, withFixedDims } from '../autodiff';
import { feedInputs, onnx, encodeModel, type ModelProto, type TensorProto } from '../onnx';
import { TRAIN_IO } from '../packs/graphIO';

export const isLoraInput = (name: string): boolean => name.startsWith('lora.');

function loraInputsOf(model: ModelProto): string[] {
  return feedInputs(model.graph!).map((i) => i.name!).filter(isLoraInput);
}

/**
 * The fine-tune always runs one image at a time: pinning `batch` to 1 gives the rules static
 * shapes. The LoRA rank stays symbolic so one graph serves every rank the person picks
 * (measured on the tiny pack: creating the session takes the same time either way).
 */
const TRAIN_DIMS = { batch: 1 };

/**
 * `recompute: 'auto'` recomputes each Transformer/ResNet block's activations in the backward
 * pass instead of keeping them (hyperbooth pack --recompute; measured on a full-size
 * SD1.5-shaped UNet at 64×64 latents: peak 13.8 → 10.3 GB on onnxruntime-node CPU, same loss).
 * Named segments (lists of node names) recompute just those nodes, e.g. each query block of a
 * chunked attention (src/packer/attentionChunks.ts chunkRecomputeSegments).
 */
export function buildUnetTrainModel(
  unet: ModelProto,
  io = { prediction: 'out_sample', context: 'encoder_hidden_states' },
  opts: { recompute?: 'auto' | string[][]; lossScale?: number; convInputGradient?: 'flipped-conv' | 'conv-transpose' } = {},
): ModelProto {
  const fixed = withFixedDims(unet, TRAIN_DIMS);
  const slots = loraInputsOf(fixed);
  if (slots.length === 0) throw new Error('the UNet has no LoRA slot inputs (lora.*) to train');
  return buildTrainingModel(fixed, {
    wrt: [...slots, io.context],
    prediction: io.prediction,
    targetName: TRAIN_IO.target,
    lossName: TRAIN_IO.loss,
    ...(opts.recompute ? { recompute: opts.recompute } : {}),
    ...(opts.lossScale ? { lossScale: opts.lossScale } : {}),
    ...(opts.convInputGradient ? { convInputGradient: opts.convInputGradient } : {}),
  });
}

/** `lossScale`: the seed ∂loss/∂c is scaled in the graph and the gradients unscaled (float16 backward passes). */
export function buildTextEncoderGradModel(textEncoder: ModelProto, output = 'last_hidden_state', opts: { lossScale?: number } = {}): ModelProto {
  const fixed = withFixedDims(textEncoder, TRAIN_DIMS);
  const slots = loraInputsOf(fixed);
  if (slots.length === 0) throw new Error('the text encoder has no LoRA slot inputs (lora.*) to train');
  return buildGradientModel(fixed, { of: [output], wrt: slots, ...(opts.lossScale ? { lossScale: opts.lossScale } : {}) });
}

export interface SharedWeights {
  /** each model's .onnx bytes, in the order given */
  models: Uint8Array[];
  /** the one external data file they all point into */
  data: Uint8Array;
  /** how many initializers of each model read from `data` */
  shared: number[];
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Writes the large initializers of `models[0]` once to an external file `location` and points
 * every model's initializer of the same name at the same bytes (it must hold exactly those
 * bytes, or it is an error: a train graph must train the weights the forward graph runs).
 * Initializers only the later models have stay inline (they are the backward pass's small
 * constants). Offsets are aligned so a runtime can map tensors without copying.
 */
export function shareExternalData(
  models: readonly ModelProto[],
  opts: { location: string; thresholdBytes?: number; alignment?: number },
): SharedWeights {
  const threshold = opts.thresholdBytes ?? 1024;
  const align = opts.alignment ?? 64;
  if (models.length === 0) throw new Error('shareExternalData: no models');
  const placed = new Map<string, { offset: number; bytes: Uint8Array }>();
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of models[0].graph?.initializer ?? []) {
    const raw = t.rawData;
    if (!raw || raw.length < threshold) continue;
    if (placed.has(t.name!)) throw new Error(`initializer ${t.name} is listed twice`);
    const pad = (align - (offset % align)) % align;
    if (pad) { chunks.push(new Uint8Array(pad)); offset += pad; }
    chunks.push(raw);
    placed.set(t.name!, { offset, bytes: raw });
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) { data.set(c, o); o += c.length; }

  const shared: number[] = [];
  const encoded = models.map((model, index) => {
    // a deep copy: the caller's models keep their inline weights
    const copy = onnx.ModelProto.decode(encodeModel(model));
    let count = 0;
    for (const t of copy.graph?.initializer ?? []) {
      const at = placed.get(t.name!);
      if (!at) continue;
      if (!t.rawData || !sameBytes(t.rawData, at.bytes)) {
        throw new Error(`model ${index}: initializer ${t.name} differs from the first model's, so it cannot share its bytes`);
      }
      pointAt(t, opts.location, at.offset, at.bytes.length);
      count++;
    }
    if (index === 0 && count !== placed.size) throw new Error('shareExternalData: the first model lost initializers');
    shared.push(count);
    return encodeModel(copy);
  });
  return { models: encoded, data, shared };
}

function pointAt(t: TensorProto, location: string, offset: number, length: number): void {
  t.externalData = [
    onnx.StringStringEntryProto.create({ key: 'location', value: location }),
    onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
    onnx.StringStringEntryProto.create({ key: 'length', value: String(length) }),
  ];
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  t.rawData = new Uint8Array(0);
}
