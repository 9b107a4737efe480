// A pack is judged against each backend from its manifest alone (src/packs/fit.ts), so one that
// cannot fit is refused, with the reason, before anything is downloaded: SD1.5 in float32 on
// WASM (its sessions hold more than a wasm32 heap), a tensor beyond the adapter's buffer limits.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkPackFits, fitsWasm, fitsWebgpu, holdsOneModelSetAtATime, PackTooLargeError, sessionBytes } from '../../../src/packs/fit';
import { validateManifest, type PackManifest } from '../../../src/packs/manifest';

const TINY = fileURLToPath(new URL('../../../public/models/tiny/manifest.json', import.meta.url));
const tiny = () => validateManifest(JSON.parse(readFileSync(TINY, 'utf8'))) as PackManifest;
const GiB = 2 ** 30, MiB = 2 ** 20;
/** WebGPU's default limits, what an adapter grants without asking */
const DEFAULT_LIMITS = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
const LARGE_LIMITS = { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 2 * GiB };

/** The tiny manifest with SD1.5's file sizes: the UNet's chunks (shared by its train graph) and the text encoder's. */
function sd15(weights: 'float16' | 'float32'): PackManifest {
  const m = tiny();
  const w = weights === 'float16' ? 1 : 2;
  const sizes: Record<string, number> = { 'unet/weights.bin': 1.6 * GiB * w, 'text_encoder/weights.bin': 0.23 * GiB * w, 'vae_decoder/model.onnx': 94 * MiB * w, 'vae_encoder/model.onnx': 65 * MiB * w };
  return {
    ...m,
    files: m.files.map((f) => (f.path in sizes ? { ...f, size: Math.round(sizes[f.path]) } : f)),
    // inspect sd15 --memory --image-size 512 (--dtype float16 | float32)
    requirements: weights === 'float16'
      ? { imageSize: 512, largestTensorBytes: 256 * MiB, largestTensor: '/decoder/up_blocks.2/upsamplers.0/conv/Conv_output_0::fp32', peakBytes: { generate: 1.76 * GiB, fineTuneStep: 2.8 * GiB }, weightsBytes: { generate: 1.6 * GiB, fineTuneStep: 1.83 * GiB } }
      : { imageSize: 512, largestTensorBytes: 256 * MiB, largestTensor: '/decoder/up_blocks.2/upsamplers.0/Resize_output_0', peakBytes: { generate: 3.4 * GiB, fineTuneStep: 5.3 * GiB }, weightsBytes: { generate: 3.2 * GiB, fineTuneStep: 3.66 * GiB } },
  };
}

describe('pack fit per backend, from the manifest', () => {
  it('the tiny pack fits both backends, even at the default WebGPU limits', () => {
    const fit = checkPackFits(tiny(), DEFAULT_LIMITS);
    expect(fit.wasm).toEqual({ fits: true });
    expect(fit.webgpu).toEqual({ fits: true });
  });

  it('counts a session as its graph file plus every external-data file it names', () => {
    const m = tiny();
    expect(sessionBytes(m, m.models.unet)).toBe(329763 + 4186112);
    expect(sessionBytes(m, m.train!.unet)).toBe(1121101 + 4186112);
  });

  it('SD1.5 in float32: WASM refused (its sessions hold more than a wasm32 heap); WebGPU takes it with large limits', () => {
    const m = sd15('float32');
    const wasm = fitsWasm(m);
    expect(wasm.fits).toBe(false);
    if (!wasm.fits) expect(wasm.reason).toMatch(/wasm32 heap of at most 4 GiB, and this pack's sessions hold [0-9.]+ GiB \(UNet train step 3\.20 GiB, UNet 3\.20 GiB/);
    expect(fitsWebgpu(m, LARGE_LIMITS)).toEqual({ fits: true });
  });

  it('SD1.5 in float16: the 256 MiB VAE tensor needs more than the default binding limit of 128 MiB', () => {
    const m = sd15('float16');
    const gpu = fitsWebgpu(m, DEFAULT_LIMITS);
    expect(gpu.fits).toBe(false);
    if (!gpu.fits) expect(gpu.reason).toBe("its largest tensor at 512 px (/decoder/up_blocks.2/upsamplers.0/conv/Conv_output_0::fp32, 256 MiB) exceeds this GPU's maxStorageBufferBindingSize of 128 MiB");
    expect(fitsWebgpu(m, LARGE_LIMITS)).toEqual({ fits: true });
    // 2 × 1.6 GiB of UNet chunks (forward and train sessions), text encoder twice, VAE, activations: over 4 GiB
    expect(fitsWasm(m).fits).toBe(false);
  });

  it('a float16 pack needs the adapter\'s shader-f16 (SwiftShader has none): refused there with both reasons, before download', () => {
    const m = { ...sd15('float16'), precision: { weights: 'float16' as const, compute: { unet: 'float16' as const, textEncoder: 'float16' as const, vaeEncoder: 'float16' as const, vaeDecoder: 'float16' as const, train: 'float16' as const } } };
    // Chromium 156's SwiftShader adapter: 1 GiB buffers and bindings, no shader-f16
    const swiftshader = { maxBufferSize: GiB, maxStorageBufferBindingSize: GiB, features: ['float32-filterable', 'subgroups', 'timestamp-query'] };
    expect(fitsWebgpu(m, swiftshader)).toEqual({ fits: false, reason: 'its graphs compute in float16, and this WebGPU adapter lacks shader-f16' });
    expect(fitsWebgpu(m, { ...swiftshader, features: ['shader-f16'] })).toEqual({ fits: true });
    // adapter features unknown: only the sizes are judged
    expect(fitsWebgpu(m, LARGE_LIMITS)).toEqual({ fits: true });
    expect(() => checkPackFits(m, swiftshader)).toThrow(/nothing was downloaded: its graphs compute in float16, and this WebGPU adapter lacks shader-f16; and on WASM every session's weights sit in one wasm32 heap/);
    // a float32 pack needs no feature
    expect(fitsWebgpu(sd15('float32'), swiftshader)).toEqual({ fits: true });
  });

  it('on WASM a float16 graph counts 3× (its weights plus float32 copies): SD1.5 fp16 at 64 px is refused, the same bytes in float32 fit', () => {
    // `hyperbooth pack --fp16 --image-size 64` of SD1.5: the UNet's 1.6 GiB shared by forward and train graphs
    const m = tiny();
    const sized = { ...m, files: m.files.map((f) => (f.path === 'unet/weights.bin' ? { ...f, size: Math.round(1.6 * GiB) } : f)) };
    const compute = (p: 'float16' | 'float32') => ({ unet: p, textEncoder: p, vaeEncoder: p, vaeDecoder: p, train: p });
    expect(fitsWasm({ ...sized, precision: { weights: 'float32', compute: compute('float32') } })).toEqual({ fits: true });
    const f16 = fitsWasm({ ...sized, precision: { weights: 'float16', compute: compute('float16') } });
    expect(f16.fits).toBe(false);
    if (!f16.fits) expect(f16.reason).toMatch(/sessions hold 9\.[0-9]{2} GiB \(float16 graphs counted with the float32 copies onnxruntime's CPU EP makes of their weights\) \(UNet/);
  });

  it('a pack whose sessions together exceed 2 GiB holds the pipeline or the personalizer, not both', () => {
    expect(holdsOneModelSetAtATime(tiny())).toBe(false);
    expect(holdsOneModelSetAtATime(sd15('float16'))).toBe(true);
    expect(holdsOneModelSetAtATime(sd15('float32'))).toBe(true);
    expect(holdsOneModelSetAtATime(tiny(), 0)).toBe(true);
  });

  it('refuses before downloading when neither backend fits, or the forced one does not, naming the reasons', () => {
    const m = sd15('float32');
    expect(() => checkPackFits(m, DEFAULT_LIMITS)).toThrow(PackTooLargeError);
    expect(() => checkPackFits(m, DEFAULT_LIMITS)).toThrow(/cannot run here, so nothing was downloaded: its largest tensor .* exceeds this GPU's maxStorageBufferBindingSize of 128 MiB; and on WASM every session's weights sit in one wasm32 heap/);
    expect(() => checkPackFits(m, null)).toThrow(/this browser offers no WebGPU adapter; and on WASM/);
    expect(() => checkPackFits(m, LARGE_LIMITS, 'wasm')).toThrow(/nothing was downloaded: on WASM every session's weights/);
    // fits WebGPU: not refused, WASM left out
    const fit = checkPackFits(m, LARGE_LIMITS);
    expect(fit.webgpu.fits).toBe(true);
    expect(fit.wasm.fits).toBe(false);
  });

  it('on WebGPU only the graph files pass through the wasm heap: external weights go from JS to GPU buffers', () => {
    const m = sd15('float32');
    // 4 GiB of external UNet weights: no matter on WebGPU (a real pack splits them into chunks)
    const external = { ...m, files: m.files.map((f) => (f.path === 'unet/weights.bin' ? { ...f, size: 4 * GiB } : f)) };
    expect(fitsWebgpu(external, LARGE_LIMITS)).toEqual({ fits: true });
    // the same weights inline in the graph file: refused
    const inline = { ...m, files: m.files.map((f) => (f.path === 'unet/train.onnx' ? { ...f, size: 4 * GiB } : f)) };
    const gpu = fitsWebgpu(inline, LARGE_LIMITS);
    expect(gpu.fits).toBe(false);
    if (!gpu.fits) expect(gpu.reason).toMatch(/the UNet train step's graph file with its inline weights \(4\.00 GiB\) passes through onnxruntime-web's wasm32 heap/);
  });
});
