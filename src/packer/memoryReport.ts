// `hyperbooth inspect <pack> --memory`: the memory each graph of a pack needs at an image size,
// as the pipeline runs them: generate = one UNet call at classifier-free-guidance batch 2 (with
// LoRA slots at the fine-tune rank), the text encoder on the two prompts, the VAE on one image;
// fineTuneStep = the fine-tune's sessions at batch 1 (UNet train step and the text-encoder
// gradient, which gives c too, or the plain text encoder where there is no gradient graph), all
// resident while one of them runs.
import { LORA_RANK_DIM } from '../models/layers';
import type { ModelProto } from '../onnx';
import { graphMemory, MemoryReportError, type GraphMemory, type MemoryOptions } from './memory';

export interface PackGraphs {
  unet: ModelProto;
  textEncoder: ModelProto;
  vaeEncoder: ModelProto;
  vaeDecoder: ModelProto;
  unetTrain?: ModelProto;
  textEncoderGrad?: ModelProto;
}

export interface PackGeometry {
  imageSize: number;
  /** image pixels per latent pixel (SD: 8) */
  vaeScale: number;
  /** prompt tokens (SD: 77) */
  textLength: number;
  /** LoRA rank the slots are fed at */
  rank: number;
  latentChannels: number;
  /** the text encoder's width (the UNet's cross-attention input) */
  textWidth: number;
}

export type MemoryEntry = Pick<GraphMemory, 'weightsBytes' | 'peakBytes' | 'largestTensorBytes' | 'copiesBytes' | 'largestTensor'>;

export interface MemoryReport {
  imageSize: number;
  /** the width every float tensor was counted at; absent: each tensor's own dtype */
  dtype?: 'float16' | 'float32';
  executionProvider: 'cpu' | 'webgpu';
  /** null where a graph could not be sized (the reason is in `unsized`) */
  graphs: Record<'generate' | 'fineTuneStep' | 'textEncoder' | 'vaeEncode' | 'vaeDecode', MemoryEntry | null>;
  unsized?: string[];
}

/**
 * The sizes of the symbolic dims of `model` when its inputs have the given shapes (null: the
 * graph's own static size). A static dim that differs is an error naming the input.
 */
export function dimsForInputs(model: ModelProto, label: string, shapes: Record<string, (number | null)[]>, extra: Record<string, number> = {}): Record<string, number> {
  const sizes: Record<string, number> = { ...extra };
  for (const input of model.graph?.input ?? []) {
    const want = shapes[input.name ?? ''];
    if (!want) continue;
    const dims = input.type?.tensorType?.shape?.dim ?? [];
    if (dims.length !== want.length) throw new MemoryReportError(`${label}: input ${input.name} has rank ${dims.length}, expected ${want.length}`);
    dims.forEach((d, i) => {
      const w = want[i];
      if (w === null) return;
      if (d.dimParam) sizes[d.dimParam] = w;
      else if (d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) !== w) {
        throw new MemoryReportError(`${label}: input ${input.name} is fixed at [${dims.map((x) => x.dimParam ?? Number(x.dimValue)).join(', ')}], so it cannot run at dim ${i} = ${w} (the graph was made for another image size)`);
      }
    });
  }
  return sizes;
}

const entry = (m: GraphMemory): MemoryEntry => ({
  weightsBytes: m.weightsBytes, peakBytes: m.peakBytes, largestTensorBytes: m.largestTensorBytes, copiesBytes: m.copiesBytes, largestTensor: m.largestTensor,
});

/** Sessions resident together, one running at a time: every weight held, the worst run on top. */
function together(parts: GraphMemory[]): MemoryEntry {
  const weights = parts.reduce((a, p) => a + p.weightsBytes, 0);
  const largest = parts.reduce((a, p) => (p.largestTensorBytes > a.largestTensorBytes ? p : a));
  return {
    weightsBytes: weights,
    copiesBytes: parts.reduce((a, p) => a + p.copiesBytes, 0),
    peakBytes: weights + Math.max(...parts.map((p) => p.peakBytes - p.weightsBytes)),
    largestTensorBytes: largest.largestTensorBytes,
    largestTensor: largest.largestTensor,
  };
}

export function memoryReport(g: PackGraphs, geo: PackGeometry, opts: Pick<MemoryOptions, 'floatDtype' | 'ep'> = {}): MemoryReport {
  if (geo.imageSize % geo.vaeScale !== 0) throw new MemoryReportError(`--image-size ${geo.imageSize} is not a multiple of the VAE's scale ${geo.vaeScale}`);
  const L = geo.imageSize / geo.vaeScale;
  const T = geo.textLength;
  const rank = { [LORA_RANK_DIM]: geo.rank };
  const measure = (model: ModelProto, label: string, shapes: Record<string, (number | null)[]>) =>
    graphMemory(model, { ...opts, dims: dimsForInputs(model, label, shapes, rank) });
  const C = geo.latentChannels;
  const unetInputs = (batch: number) => ({ sample: [batch, C, L, L], timestep: [batch], encoder_hidden_states: [batch, T, geo.textWidth], target: [batch, C, L, L] });
  const textInputs = (batch: number) => ({ input_ids: [batch, T], last_hidden_state_grad: [batch, T, geo.textWidth] });

  const unsized: string[] = [];
  // a graph the static inference cannot size (e.g. an export's run-time pad arithmetic) is left
  // out with the reason, and the others are still reported
  const sized = <T>(label: string, f: () => T): T | null => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof MemoryReportError)) throw e;
      unsized.push(`${label}: ${e.message}`);
      return null;
    }
  };
  const textEncoder = sized('textEncoder', () => measure(g.textEncoder, 'text encoder', textInputs(2)));
  const fineTuneStep = sized('fineTuneStep', () => {
    // the text-encoder gradient graph gives c too, so the fine-tune opens the plain text
    // encoder only where there is none (src/finetune/fineTuneGraphs.ts)
    const train = g.textEncoderGrad ? [measure(g.textEncoderGrad, 'text-encoder gradient', textInputs(1))] : [measure(g.textEncoder, 'text encoder', textInputs(1))];
    if (g.unetTrain) train.push(measure(g.unetTrain, 'UNet train step', unetInputs(1)));
    return together(train);
  });
  const generate = sized('generate', () => measure(g.unet, 'UNet', unetInputs(2)));
  const vaeEncode = sized('vaeEncode', () => measure(g.vaeEncoder, 'VAE encoder', { sample: [1, 3, geo.imageSize, geo.imageSize] }));
  const vaeDecode = sized('vaeDecode', () => measure(g.vaeDecoder, 'VAE decoder', { latent_sample: [1, C, L, L] }));
  const maybe = (m: GraphMemory | null) => (m ? entry(m) : null);
  return {
    imageSize: geo.imageSize,
    ...(opts.floatDtype ? { dtype: opts.floatDtype } : {}),
    executionProvider: opts.ep ?? 'webgpu',
    graphs: { generate: maybe(generate), fineTuneStep, textEncoder: maybe(textEncoder), vaeEncode: maybe(vaeEncode), vaeDecode: maybe(vaeDecode) },
    ...(unsized.length ? { unsized } : {}),
  };
}

const gib = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

/** The report as lines for a terminal (hyperbooth pack's summary, inspect without --json). */
export function formatMemoryReport(r: MemoryReport): string[] {
  const lines = [`memory at ${r.imageSize} px (${r.dtype ? `every float tensor counted as ${r.dtype}` : 'tensors in their own dtypes'}, ${r.executionProvider} EP):`];
  const rows: [string, MemoryEntry | null][] = [
    ['generate (UNet, CFG batch 2)', r.graphs.generate], ['fine-tune step (batch 1)', r.graphs.fineTuneStep],
    ['text encoder (2 prompts)', r.graphs.textEncoder], ['VAE encode', r.graphs.vaeEncode], ['VAE decode', r.graphs.vaeDecode],
  ];
  for (const [label, e] of rows) {
    if (!e) { lines.push(`  ${label.padEnd(30)} not sized (below)`); continue; }
    lines.push(`  ${label.padEnd(30)} peak ${gib(e.peakBytes).padStart(10)}  weights ${gib(e.weightsBytes).padStart(10)}${e.copiesBytes ? ` (${gib(e.copiesBytes)} copies made at session creation)` : ''}  largest tensor ${gib(e.largestTensorBytes)} (${e.largestTensor})`);
  }
  for (const u of r.unsized ?? []) lines.push(`  not sized: ${u}`);
  return lines;
}
