// Shared between the web and node runtimes: both onnxruntime packages expose the same
// onnxruntime-common API, but each has its own Tensor class, so conversion is parameterized.
import type * as ortCommon from 'onnxruntime-common';
import type { Feeds, Session, Tensor, TensorType } from './types';

type Ort = Pick<typeof ortCommon, 'Tensor'>;

export function toOrtFeeds(ort: Ort, feeds: Feeds): Record<string, ortCommon.Tensor> {
  const out: Record<string, ortCommon.Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) {
    out[k] = new ort.Tensor(t.type, t.data as never, t.dims as number[]);
  }
  return out;
}

export function fromOrtTensor(t: ortCommon.Tensor): Tensor {
  return { type: t.type as TensorType, dims: [...t.dims], data: t.data as Tensor['data'] };
}

export function wrapSession(session: ortCommon.InferenceSession, ort: Ort, label: string): Session {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs) {
      let res: ortCommon.InferenceSession.ReturnType;
      try {
        res = outputs ? await session.run(toOrtFeeds(ort, feeds), outputs as string[]) : await session.run(toOrtFeeds(ort, feeds));
      } catch (e) {
        throw new Error(`${label}: ${(e as Error).message}`);
      }
      const out: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(res)) out[k] = fromOrtTensor(v);
      return out;
    },
    release: () => session.release(),
  };
}
