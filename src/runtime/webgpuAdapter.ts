// What kind of WebGPU adapter this browser offers: none, a software renderer (SwiftShader,
// llvmpipe, … on a machine without a usable GPU, many times slower than the WASM EP), or a
// hardware GPU. The classification is a pure function of the adapter's facts, so it is tested
// without a browser; inspectWebgpuAdapter() reads those facts from navigator.gpu.

/** The adapter fields the decision reads (WebGPU's GPUAdapter / GPUAdapterInfo, structurally). */
export interface AdapterFacts {
  /** GPUAdapter.isFallbackAdapter (older Chromium) */
  isFallbackAdapter?: boolean;
  info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    /** GPUAdapterInfo.isFallbackAdapter (where the spec moved it) */
    isFallbackAdapter?: boolean;
  };
}

export type WebgpuAdapterReport =
  | { kind: 'none'; reason: string }
  | { kind: 'software'; name: string }
  | { kind: 'hardware'; name: string };

// CPU rasterizers that implement WebGPU (Chromium's SwiftShader, Mesa's llvmpipe/lavapipe/
// softpipe, Windows' WARP "Microsoft Basic Render Driver").
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render|warp/i;

/** A readable name for the adapter: its description, else vendor and architecture. */
export function adapterName(facts: AdapterFacts): string {
  const info = facts.info ?? {};
  const parts = info.description?.trim() ? [info.description.trim()] : [info.vendor, info.architecture, info.device].filter((p): p is string => Boolean(p?.trim()));
  return parts.join(' ') || 'unnamed adapter';
}

/** Software or hardware, from what the adapter says about itself. */
export function classifyAdapter(facts: AdapterFacts): WebgpuAdapterReport {
  const info = facts.info ?? {};
  const name = adapterName(facts);
  const fallback = facts.isFallbackAdapter === true || info.isFallbackAdapter === true;
  const software = [info.vendor, info.architecture, info.device, info.description].some((f) => typeof f === 'string' && SOFTWARE_RENDERER.test(f));
  if (fallback || software) return { kind: 'software', name: software ? name : `${name} (a fallback adapter)` };
  return { kind: 'hardware', name };
}

type Adapter = AdapterFacts & { features?: { has(name: string): boolean }; requestAdapterInfo?: () => Promise<AdapterFacts['info']> };

/**
 * Asks navigator.gpu for an adapter and classifies it. `requiredFeatures` the adapter lacks
 * (e.g. `shader-f16` for a float16 pack) make it unusable, as no adapter at all does.
 */
export async function inspectWebgpuAdapter(requiredFeatures: readonly string[] = []): Promise<WebgpuAdapterReport> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<Adapter | null> } } | undefined)?.gpu;
  if (!gpu) return { kind: 'none', reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  let adapter: Adapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { kind: 'none', reason: `requesting a WebGPU adapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { kind: 'none', reason: 'no WebGPU adapter is available (requestAdapter returned null)' };
  const missing = requiredFeatures.filter((f) => !adapter.features?.has(f));
  if (missing.length) return { kind: 'none', reason: `the WebGPU adapter lacks ${missing.join(', ')}, which this pack's graphs need` };
  // older Chromium exposes the info only through the (since removed) requestAdapterInfo()
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.().catch(() => undefined));
  return classifyAdapter({ isFallbackAdapter: adapter.isFallbackAdapter, info });
}

/** The adapter's buffer limits and features a pack must fit (src/packs/fit.ts); null without an adapter. */
export async function webgpuBufferLimits(): Promise<{ maxBufferSize: number; maxStorageBufferBindingSize: number; features: string[] } | null> {
  type LimitsAdapter = { limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number }; features?: Iterable<string> };
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<LimitsAdapter | null> } } | undefined)?.gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  const l = adapter?.limits;
  if (!l?.maxBufferSize || !l.maxStorageBufferBindingSize) return null;
  return { maxBufferSize: Number(l.maxBufferSize), maxStorageBufferBindingSize: Number(l.maxStorageBufferBindingSize), features: [...(adapter?.features ?? [])] };
}
