// Whether a pack can run on a backend, decided from its manifest alone, before any of its files
// is downloaded: a pack that cannot fit is refused with the reason instead of failing after
// gigabytes, in the middle of creating a session.
//  - WASM: onnxruntime-web's wasm32 heap is 4 GiB at most, and each session copies its graph
//    and external-data weights into it (they are its weights on the CPU): every session the app
//    holds at once (the forward graphs, and while fine-tuning the train graphs beside them), plus
//    the largest run's activations, must fit.
//    Measured in Chromium (`npm run bench -- chromium-sd15`): a 3.75 GiB session loads, 4.0 GiB
//    fails with std::bad_alloc, and the heap grows by the external weights' size.
//  - WebGPU: the weights live in GPU buffers. onnxruntime-web 1.30 copies a session's .onnx file
//    (and the initializers inline in it) into the wasm heap, but its external-data loader copies
//    a tensor bound for the GPU from the JS buffer the app mounted straight into its GPU buffer,
//    so external weights do not pass through the heap (measured: 2 GiB of them left it at 20 MB):
//    only the largest graph file must fit in it. Each tensor is one GPU buffer bound whole to a
//    shader: the largest tensor must fit the adapter's maxBufferSize and
//    maxStorageBufferBindingSize (a larger one fails at the first run, not when the session is
//    made), and a float16 graph needs the adapter's shader-f16.
// Tensor sizes come from the manifest's `requirements` (hyperbooth pack writes them from its
// memory report); an older pack without them is judged on its file sizes only.
import type { PackManifest, PackModel, PrecisionGraph } from './manifest';
import { requiredWebgpuFeatures } from './webgpuFeatures';

/** wasm32's address space: onnxruntime-web's heap cannot grow past it */
export const WASM32_HEAP_BYTES = 4 * 2 ** 30;
/** what the wasm heap holds besides the models: the runtime, the JS-side buffers it copies */
const WASM_HEAP_RESERVE_BYTES = 256 * 2 ** 20;

/** The adapter limits a pack needs, as GPUAdapter.limits names them, and the adapter's features. */
export interface WebgpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /**
   * GPUAdapter.features: a pack computing in float16 needs `shader-f16`, which Chromium's
   * SwiftShader adapter lacks (measured: `npm run bench -- chromium-sd15`). Absent: not checked.
   */
  features?: readonly string[];
}

export type BackendFit = { fits: true } | { fits: false; reason: string };

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

/** Bytes a session of `model` reads: its graph file and every external-data file it names. */
export function sessionBytes(manifest: PackManifest, model: PackModel): number {
  const size = new Map(manifest.files.map((f) => [f.path, f.size]));
  return [model.file, ...(model.externalData ?? [])].reduce((a, p) => a + (size.get(p) ?? 0), 0);
}

/** The sessions the app holds at once: the forward graphs, and while fine-tuning the train graphs too. */
function residentSessions(manifest: PackManifest): { label: string; model: PackModel; graph?: PrecisionGraph }[] {
  const m = manifest.models;
  const list: { label: string; model: PackModel; graph?: PrecisionGraph }[] = [
    { label: 'text encoder', model: m.textEncoder, graph: 'textEncoder' }, { label: 'UNet', model: m.unet, graph: 'unet' },
    { label: 'VAE encoder', model: m.vaeEncoder, graph: 'vaeEncoder' }, { label: 'VAE decoder', model: m.vaeDecoder, graph: 'vaeDecoder' },
  ];
  if (manifest.hypernet) list.push({ label: 'hypernetwork', model: manifest.hypernet.model });
  if (manifest.train) list.push({ label: 'UNet train step', model: manifest.train.unet, graph: 'train' });
  if (manifest.train?.textEncoder) list.push({ label: 'text-encoder gradient', model: manifest.train.textEncoder, graph: 'train' });
  return list;
}

/**
 * onnxruntime's CPU EP computes in float32: a graph computing in float16 also gets float32
 * copies of its weights on WASM, so its session takes about 3× its float16 bytes. Measured
 * (`npm run bench -- chromium-sd15`): SD1.5's float16 UNet (1.6 GiB at 64 px) failed with
 * std::bad_alloc on WASM after its 0.23 GiB text encoder, where one 3.75 GiB float32 session fits.
 */
const FLOAT16_ON_WASM_FACTOR = 3;

/**
 * Above this many bytes of sessions (the pipeline's and the personalizer's together) the worker
 * holds one of the two at a time: SD1.5 in float32 on SwiftShader WebGPU took 13.9 GiB in the GPU
 * process and 7.5 GiB in the renderer with both open, more than this 24 GB machine had left
 * (`npm run bench -- chromium-sd15`). The tiny pack (20 MB) keeps both.
 */
export const BOTH_MODEL_SETS_BUDGET_BYTES = 2 * 2 ** 30;

/** Whether the worker should close the pipeline before opening the personalizer, and back. */
export function holdsOneModelSetAtATime(manifest: PackManifest, budgetBytes = BOTH_MODEL_SETS_BUDGET_BYTES): boolean {
  return residentSessions(manifest).reduce((a, s) => a + sessionBytes(manifest, s.model), 0) > budgetBytes;
}

export function fitsWasm(manifest: PackManifest): BackendFit {
  const f16 = (g?: PrecisionGraph) => !!g && manifest.precision?.compute[g] === 'float16';
  const sessions = residentSessions(manifest).map((s) => ({ ...s, bytes: sessionBytes(manifest, s.model) * (f16(s.graph) ? FLOAT16_ON_WASM_FACTOR : 1) }));
  const weights = sessions.reduce((a, s) => a + s.bytes, 0);
  const f16Note = sessions.some((s) => f16(s.graph)) ? ' (float16 graphs counted with the float32 copies onnxruntime\'s CPU EP makes of their weights)' : '';
  const r = manifest.requirements;
  const activations = r ? Math.max(0, Math.max(r.peakBytes.generate, r.peakBytes.fineTuneStep) - r.weightsBytes.fineTuneStep) : 0;
  const need = weights + activations + WASM_HEAP_RESERVE_BYTES;
  if (need <= WASM32_HEAP_BYTES) return { fits: true };
  const largest = [...sessions].sort((a, b) => b.bytes - a.bytes).slice(0, 2).map((s) => `${s.label} ${gib(s.bytes)}`).join(', ');
  return {
    fits: false,
    reason: `on WASM every session's weights sit in one wasm32 heap of at most 4 GiB, and this pack's sessions hold ${gib(weights)}${f16Note} (${largest} …)${activations ? ` plus ${gib(activations)} of activations` : ''}: it needs a WebGPU device`,
  };
}

export function fitsWebgpu(manifest: PackManifest, limits: WebgpuLimits): BackendFit {
  // ORT's WebGPU EP fails a float16 graph without shader-f16 (no per-op fallback)
  const missing = limits.features ? requiredWebgpuFeatures(manifest.precision).filter((f) => !limits.features!.includes(f)) : [];
  if (missing.length) return { fits: false, reason: `its graphs compute in float16, and this WebGPU adapter lacks ${missing.join(', ')}` };
  const size = new Map(manifest.files.map((f) => [f.path, f.size]));
  const graphs = residentSessions(manifest).map((s) => ({ ...s, bytes: size.get(s.model.file) ?? 0 }));
  const largest = graphs.reduce((a, s) => (s.bytes > a.bytes ? s : a));
  if (largest.bytes + WASM_HEAP_RESERVE_BYTES > WASM32_HEAP_BYTES) {
    return { fits: false, reason: `the ${largest.label}'s graph file with its inline weights (${gib(largest.bytes)}) passes through onnxruntime-web's wasm32 heap (4 GiB at most) while its WebGPU session is created` };
  }
  const r = manifest.requirements;
  if (r) {
    const bound = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
    if (r.largestTensorBytes > bound) {
      const which = limits.maxBufferSize <= limits.maxStorageBufferBindingSize ? 'maxBufferSize' : 'maxStorageBufferBindingSize';
      return { fits: false, reason: `its largest tensor at ${r.imageSize} px (${r.largestTensor}, ${mib(r.largestTensorBytes)}) exceeds this GPU's ${which} of ${mib(bound)}` };
    }
  }
  return { fits: true };
}

/**
 * Refuses a pack that fits neither backend (or not the one forced in the address), with the
 * reasons; otherwise says which backends it fits, so the choice leaves out one it does not.
 * `limits` is null without a WebGPU adapter.
 */
export function checkPackFits(manifest: PackManifest, limits: WebgpuLimits | null, forced?: 'webgpu' | 'wasm'): { wasm: BackendFit; webgpu: BackendFit } {
  const wasm = fitsWasm(manifest);
  const webgpu: BackendFit = limits ? fitsWebgpu(manifest, limits) : { fits: false, reason: 'this browser offers no WebGPU adapter' };
  const refuse = (why: string) => { throw new PackTooLargeError(`Model pack "${manifest.name}" cannot run here, so nothing was downloaded: ${why}.`); };
  if (forced === 'wasm' && !wasm.fits) refuse(wasm.reason);
  if (forced === 'webgpu' && !webgpu.fits) refuse(webgpu.reason);
  if (!wasm.fits && !webgpu.fits) refuse(`${webgpu.reason}; and ${wasm.reason}`);
  return { wasm, webgpu };
}

export class PackTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackTooLargeError';
  }
}
