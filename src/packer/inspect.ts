// What the packer reads off the exported graphs themselves, since exporters differ: the
// timestep's dtype and shape, input_ids' dtype, widths, latent channels, the VAE's scale, and
// whether the graph is a plain export at all.
import { tensorDims, toNumber, valueType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../onnx';
import { modulePathOfNode } from '../onnx/lora';
import type { PackManifest } from '../packs/manifest';
import { PackInputError } from './errors';

const PLAIN_EXPORT_ADVICE =
  "Convert from the plain export instead: diffusers' scripts/convert_stable_diffusion_checkpoint_to_onnx.py or " +
  '`optimum-cli export onnx --model <sd1.5 model> <dir>`, not an ONNX Runtime/Olive-optimized one.';

/** Refuses graphs with ops outside the default domain (ORT's contrib GroupNorm, NhwcConv, MultiHeadAttention …). */
export function checkPlainExport(model: ModelProto, name: string): void {
  const foreign = new Map<string, number>();
  for (const n of model.graph?.node ?? []) {
    if (n.domain && n.domain !== 'ai.onnx') foreign.set(`${n.domain}.${n.opType}`, (foreign.get(`${n.domain}.${n.opType}`) ?? 0) + 1);
  }
  if (foreign.size === 0) return;
  const list = [...foreign].map(([op, k]) => `${op} ×${k}`).join(', ');
  throw new PackInputError('optimized-export',
    `${name} uses ops outside the standard ONNX domain (${list}): it is an ONNX Runtime/Olive-optimized export, whose fused ` +
    `attention has no separate q/k/v projections for LoRA and whose contrib ops the WebGPU EP lacks. ${PLAIN_EXPORT_ADVICE}`);
}

export const OPTIMIZED_EXPORT_ADVICE = PLAIN_EXPORT_ADVICE;

type DimValue = number | string | null;

export function declaredShape(v: ValueInfoProto | undefined): DimValue[] | null {
  const dims = v?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue as number) : null));
}

const staticDim = (d: DimValue | undefined): number | null => (typeof d === 'number' && d > 0 ? d : null);

function requireIo(model: ModelProto, name: string, inputs: string[], outputs: string[]): Map<string, ValueInfoProto> {
  const g = model.graph!;
  const byName = new Map<string, ValueInfoProto>();
  for (const v of [...(g.input ?? []), ...(g.output ?? [])]) byName.set(v.name ?? '', v);
  const missingIn = inputs.filter((i) => !(g.input ?? []).some((v) => v.name === i));
  const missingOut = outputs.filter((o) => !(g.output ?? []).some((v) => v.name === o));
  if (missingIn.length || missingOut.length) {
    const has = `it has inputs ${(g.input ?? []).map((v) => v.name).join(', ') || '(none)'} and outputs ${(g.output ?? []).map((v) => v.name).join(', ') || '(none)'}`;
    const lacks = [...missingIn.map((i) => `input ${i}`), ...missingOut.map((o) => `output ${o}`)].join(', ');
    throw new PackInputError('io', `${name} lacks ${lacks} (${has}); the pipeline uses the diffusers/optimum export's names`);
  }
  return byName;
}

function requireFloat32(v: ValueInfoProto, name: string): void {
  const t = valueType(v);
  if (t && t.dtype !== 'float32') {
    throw new PackInputError('io', `${name}: ${v.name} is ${t.dtype}; the packer converts fp32 exports (export in fp32 and pass --fp16 to store float16 weights)`);
  }
}

/** The initializer a node reads as input `index`, if any. */
function initializerInput(model: ModelProto, node: NodeProto, index: number): TensorProto | undefined {
  const name = node.input?.[index];
  return name ? (model.graph?.initializer ?? []).find((t) => t.name === name) : undefined;
}

export interface UnetFacts {
  timestepDtype: PackManifest['unet']['timestepDtype'];
  timestepShape: PackManifest['unet']['timestepShape'];
  /** the declared timestep was a static [1]: the packer makes it [batch] (diffusers expands it per sample) */
  timestepWasStaticOne: boolean;
  latentChannels: number;
  /** static latent height/width, when the export fixed them */
  latentSize: number | null;
  /** encoder_hidden_states' last dim */
  contextDim: number;
}

export function inspectUnet(model: ModelProto, name: string): UnetFacts {
  const io = requireIo(model, name, ['sample', 'timestep', 'encoder_hidden_states'], ['out_sample']);
  requireFloat32(io.get('sample')!, name);
  requireFloat32(io.get('encoder_hidden_states')!, name);
  const ts = io.get('timestep')!;
  const tsType = valueType(ts);
  const dtype = tsType?.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int64' && dtype !== 'float16') {
    throw new PackInputError('io', `${name}: timestep is ${dtype}; the pipeline feeds float32, int64 or float16 timesteps`);
  }
  const tsShape = declaredShape(ts) ?? [];
  if (tsShape.length > 1) throw new PackInputError('io', `${name}: timestep has rank ${tsShape.length}; expected a scalar or one value per sample`);
  const sample = declaredShape(io.get('sample'));
  const conv = (model.graph?.node ?? []).find((n) => n.opType === 'Conv' && n.input?.[0] === 'sample');
  const convWeight = conv ? initializerInput(model, conv, 1) : undefined;
  const latentChannels = staticDim(sample?.[1]) ?? (convWeight ? tensorDims(convWeight)[1] : null);
  if (!latentChannels) throw new PackInputError('io', `${name}: cannot tell the latent channels (sample's dim 1 is symbolic and no Conv reads sample)`);
  const h = staticDim(sample?.[2]);
  const w = staticDim(sample?.[3]);
  if (h !== w) throw new PackInputError('io', `${name}: the sample is ${h}×${w}; the pipeline makes square images`);
  const context = declaredShape(io.get('encoder_hidden_states'));
  const contextDim = staticDim(context?.[2]) ?? crossAttentionWidth(model);
  if (!contextDim) throw new PackInputError('io', `${name}: cannot tell the text width (encoder_hidden_states' last dim is symbolic and no attn2 to_k projection was found)`);
  return {
    timestepDtype: dtype,
    timestepShape: tsShape.length === 0 ? 'scalar' : 'batch',
    timestepWasStaticOne: tsShape.length === 1 && tsShape[0] === 1,
    latentChannels,
    latentSize: h,
    contextDim,
  };
}

/** n_in of the first cross-attention key projection (it reads the text). */
function crossAttentionWidth(model: ModelProto): number | null {
  for (const n of model.graph?.node ?? []) {
    if (n.opType !== 'MatMul' || !n.name) continue;
    const path = modulePathOfNode(n.name);
    if (path && /(^|\.)attn2\.to_k$/.test(path)) {
      const w = initializerInput(model, n, 1);
      if (w) return tensorDims(w)[0];
    }
  }
  return null;
}

/**
 * Makes a timestep input declared as static [1] one value per sample: generate() runs the
 * negative and positive prompts as a batch of 2, and diffusers' UNet expands the timestep to
 * the batch itself, so the static 1 is only what the exporter's example had.
 */
export function relaxTimestepBatch(model: ModelProto): ModelProto {
  const g = model.graph!;
  const input = (g.input ?? []).map((v) => {
    if (v.name !== 'timestep') return v;
    const copy = JSON.parse(JSON.stringify(v)) as ValueInfoProto;
    copy.type!.tensorType!.shape!.dim = [{ dimParam: 'timestep_batch' }];
    return copy;
  });
  return { ...model, graph: { ...g, input } };
}

export interface TextFacts {
  inputDtype: 'int32' | 'int64';
  hiddenSize: number;
  /** rows of the position embedding (the longest prompt the graph takes) */
  maxPositions: number | null;
  /** rows of the token embedding */
  vocabSize: number | null;
}

export function inspectTextEncoder(model: ModelProto, name: string): TextFacts {
  const io = requireIo(model, name, ['input_ids'], ['last_hidden_state']);
  const idsType = valueType(io.get('input_ids')!);
  const inputDtype = idsType?.dtype ?? 'int64';
  if (inputDtype !== 'int32' && inputDtype !== 'int64') throw new PackInputError('io', `${name}: input_ids is ${inputDtype}; expected int32 or int64`);
  const position = embeddingTable(model, 'position_embedding');
  const token = embeddingTable(model, 'token_embedding');
  const out = declaredShape(io.get('last_hidden_state'));
  const hiddenSize = staticDim(out?.[2]) ?? (position ? position[1] : null) ?? (token ? token[1] : null);
  if (!hiddenSize) throw new PackInputError('io', `${name}: cannot tell the width of last_hidden_state`);
  return { inputDtype, hiddenSize, maxPositions: position ? position[0] : null, vocabSize: token ? token[0] : null };
}

/** [rows, width] of the Gather table under `…embeddings.<which>` (CLIPTextEmbeddings). */
function embeddingTable(model: ModelProto, which: 'position_embedding' | 'token_embedding'): [number, number] | null {
  const byName = (model.graph?.initializer ?? []).find((t) => t.name === `text_model.embeddings.${which}.weight`);
  if (byName && tensorDims(byName).length === 2) return tensorDims(byName) as [number, number];
  for (const n of model.graph?.node ?? []) {
    if (n.opType !== 'Gather' || !n.name) continue;
    const path = modulePathOfNode(n.name);
    if (!path?.endsWith(`embeddings.${which}`)) continue;
    const w = initializerInput(model, n, 0);
    if (w && tensorDims(w).length === 2) return tensorDims(w) as [number, number];
  }
  return null;
}

/** 2^(upsampling Resize nodes) of the VAE decoder: SD's decoder doubles three times (8). */
export function vaeScaleFactor(decoder: ModelProto): number {
  const resizes = (decoder.graph?.node ?? []).filter((n) => n.opType === 'Resize' || n.opType === 'Upsample').length;
  return 2 ** resizes;
}

/** The Conv of module `quant_conv` in the VAE encoder: its output is the posterior's moments (mean ‖ logvar). */
export function vaeMomentsValue(encoder: ModelProto, name: string): string {
  const convs = (encoder.graph?.node ?? []).filter((n) => {
    const path = n.opType === 'Conv' && n.name ? modulePathOfNode(n.name) : null;
    return path === 'quant_conv' || !!path?.endsWith('.quant_conv');
  });
  if (convs.length !== 1) {
    throw new PackInputError('io', `${name}: its output is not latent_parameters (the moments) and ${convs.length === 0 ? 'no' : convs.length} Conv node${convs.length === 1 ? '' : 's'} of module quant_conv (the moments) ${convs.length === 0 ? 'was' : 'were'} found to take them from`);
  }
  return convs[0].output![0];
}
