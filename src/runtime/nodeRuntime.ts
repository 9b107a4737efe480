// onnxruntime-node behind the Runtime interface: CPU by default, its WebGPU EP on request.
import * as ort from 'onnxruntime-node';
import type { ModelSource, Runtime, Session } from './types';
import { wrapSession } from './ortAdapter';
import { CPU_SESSION_OPTIONS } from './sessionOptions';

export interface NodeRuntimeOptions {
  backend?: 'cpu' | 'webgpu';
  intraOpNumThreads?: number;
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
      if (opts.intraOpNumThreads !== undefined) options.intraOpNumThreads = opts.intraOpNumThreads;
      if (source.externalData) (options as { externalData?: unknown }).externalData = source.externalData;
      const session = await ort.InferenceSession.create(source.model, options);
      return wrapSession(session as never, ort as never, source.name);
    },
  };
}
