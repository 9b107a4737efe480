// onnxruntime-node behind the Runtime interface: CPU by default, its WebGPU EP on request.
import * as ort from 'onnxruntime-node';
import type { ModelSource, Runtime, Session } from './types';
import { wrapSession } from './ortAdapter';
import { CPU_SESSION_OPTIONS, WEIGHTS_ONCE_CPU_CONFIG } from './sessionOptions';

export interface NodeRuntimeOptions {
  backend?: 'cpu' | 'webgpu';
  intraOpNumThreads?: number;
  /** a weights-once train graph of at least this many bytes opens without the CPU EP's second weight layouts (default 1 GiB) */
  weightsOnceFromBytes?: number;
}

/**
 * SD1.5's fine-tune at 256 px measured (README, `npm run bench -- sd15 --weights-once`): peak
 * 6.98 → 3.78 GiB for 1.5 % more CPU time; the tiny pack's graphs keep the faster layouts.
 */
export const WEIGHTS_ONCE_FROM_BYTES = 2 ** 30;

/** The session config entries the CPU EP gets for `source` (none but the defaults, mostly). */
export function cpuSessionConfig(source: ModelSource, fromBytes = WEIGHTS_ONCE_FROM_BYTES): Record<string, string> {
  if (!source.holdsWeightsOnce) return {};
  const bytes = source.model.byteLength + (source.externalData ?? []).reduce((a, e) => a + e.data.byteLength, 0);
  return bytes >= fromBytes ? { ...WEIGHTS_ONCE_CPU_CONFIG } : {};
}

export function createNodeRuntime(opts: NodeRuntimeOptions = {}): Runtime {
  const backend = opts.backend ?? 'cpu';
  return {
    backend,
    async createSession(source: ModelSource): Promise<Session> {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [backend],
        graphOptimizationLevel: 'all',
        ...(backend === 'cpu' ? CPU_SESSION_OPTIONS : {}),
      };
      const config = backend === 'cpu' ? cpuSessionConfig(source, opts.weightsOnceFromBytes) : {};
      if (Object.keys(config).length) options.extra = config;
      if (opts.intraOpNumThreads !== undefined) options.intraOpNumThreads = opts.intraOpNumThreads;
      if (source.externalData) (options as { externalData?: unknown }).externalData = source.externalData;
      const session = await ort.InferenceSession.create(source.model, options);
      return wrapSession(session as never, ort as never, source.name);
    },
  };
}
