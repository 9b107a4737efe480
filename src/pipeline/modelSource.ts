// The bytes of one pack graph plus its external data, in the form Runtime.createSession takes.
import type { PackModel } from '../packs/manifest';
import type { ModelSource } from '../runtime/types';

/**
 * manifest externalData entries are pack paths (validateManifest checks they are listed in
 * "files"); ONNX resolves a tensor's `location` against the graph's own folder, so the path
 * handed to the runtime is the entry relative to that folder.
 */
export function modelSource(name: string, model: PackModel, files: (path: string) => Uint8Array, extra: Pick<ModelSource, 'holdsWeightsOnce'> = {}): ModelSource {
  const dir = model.file.includes('/') ? model.file.slice(0, model.file.lastIndexOf('/') + 1) : '';
  const source: ModelSource = { name: `${name} (${model.file})`, model: files(model.file), ...extra };
  if (model.externalData?.length) {
    source.externalData = model.externalData.map((path) => {
      if (!path.startsWith(dir)) throw new Error(`${model.file}: external data ${path} is not in the graph's folder ${dir}`);
      return { path: path.slice(dir.length), data: files(path) };
    });
  }
  return source;
}
