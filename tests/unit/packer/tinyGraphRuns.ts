// The tiny pack's graphs loaded whole and run in onnxruntime-node CPU on random feeds: what the
// float16 and weights-once tests compare against the float32 graphs.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { encodeModel, inlineExternalData, type ModelProto } from '../../../src/onnx';
import { loadModelFile } from '../../../src/onnx/fs';
import { inputSpecs, makeFeeds } from '../../../tools/bench/lib/measureSession';

export const TINY = fileURLToPath(new URL('../../../public/models/tiny/', import.meta.url));
export const loadTinyGraph = (file: string) => { const { model, readExternal } = loadModelFile(join(TINY, file)); return inlineExternalData(model, readExternal); };
export const DIMS = { lora_rank: 4 };

/** max |a − b| over max |b| */
export function relDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 1e-12;
  for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return diff / scale;
}

/** every output of one run on the same seeded feeds */
export async function outputs(model: ModelProto): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(Buffer.from(encodeModel(model)), { executionProviders: ['cpu'] });
  const out = await session.run(makeFeeds(inputSpecs(model, DIMS)));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}
