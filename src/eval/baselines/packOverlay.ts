// A pack seen through one changed graph: the baselines that train a model's own weights
// (DreamBooth's UNet, textual inversion's token table) generate with the pack's pipeline over a
// copy of that graph whose weights are the trained ones, inline; every other file is the pack's,
// and nothing on disk changes.
import { encodeModel } from '../../onnx';
import type { PackContents } from '../../packs/types';
import { packModelOf, readPackGraph, setInitializers, type GraphKey } from '../../training/packGraphs';

export function packWithWeights(pack: PackContents, key: Exclude<GraphKey, 'hypernet'>, values: Record<string, Float32Array>): PackContents {
  const { manifest } = pack;
  const source = packModelOf(manifest, key);
  const model = readPackGraph(pack, source);
  setInitializers(model, values, `${key} (${source.file})`);
  const bytes = encodeModel(model);
  return {
    manifest: { ...manifest, models: { ...manifest.models, [key]: { file: source.file } } },
    files: (path) => (path === source.file ? bytes : pack.files(path)),
  };
}
