// Which optional WebGPU features a pack's graphs need (kept apart from src/runtime/webRuntime.ts so it is
// testable without loading onnxruntime-web).
import type { PackManifest } from './manifest';

/** Float16 compute needs `shader-f16`: ORT's WebGPU EP fails such graphs without it (no per-op fallback). */
export function requiredWebgpuFeatures(precision: PackManifest['precision']): string[] {
  return Object.values(precision?.compute ?? {}).includes('float16') ? ['shader-f16'] : [];
}
