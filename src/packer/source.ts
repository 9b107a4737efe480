// One graph of the export, read without its external weights: the .onnx protobuf is decoded
// (inline tensors become views into the file's bytes, not copies) and external tensors stay
// on disk until the chunk writer copies them, one at a time.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { decodeModel, externalLocation, type ExternalDataReader, type ModelProto, type TensorProto } from '../onnx';
import { fileExternalReader } from '../onnx/fs';
import { PackInputError } from './errors';

export interface SourceGraph {
  /** export-relative path of the .onnx file, for messages */
  name: string;
  path: string;
  model: ModelProto;
  readExternal: ExternalDataReader;
  /** how the weights are stored: 'inline', 'external file weights.pb', 'one file per tensor (N files)' */
  storage: string;
}

/** External tensors smaller than this are read in at once, so shape constants are visible to analysis. */
const INLINE_BELOW_BYTES = 4096;

export function loadSourceGraph(path: string, exportDir: string): SourceGraph {
  const name = relative(exportDir, path);
  let model: ModelProto;
  try {
    model = decodeModel(readFileSync(path));
  } catch (e) {
    throw new PackInputError('missing-part', `${name}: ${(e as Error).message}`);
  }
  if (!model.graph) throw new PackInputError('missing-part', `${name}: the model has no graph`);
  const readExternal = fileExternalReader(path);
  const sizes = new Map<string, number>();
  for (const t of model.graph.initializer ?? []) {
    const ext = externalLocation(t);
    if (!ext) continue;
    let size = sizes.get(ext.location);
    if (size === undefined) {
      const file = join(dirname(path), ext.location);
      if (!existsSync(file)) {
        throw new PackInputError('missing-part', `${relative(exportDir, file)} is missing (${name} keeps tensor ${t.name} there)`);
      }
      size = statSync(file).size;
      sizes.set(ext.location, size);
    }
    const end = ext.offset + (ext.length ?? size - ext.offset);
    if (end > size) {
      throw new PackInputError('missing-part', `${join(relative(exportDir, dirname(path)), ext.location)} ends at byte ${size}, but ${name} reads tensor ${t.name} up to byte ${end} (a cut download?)`);
    }
    if (end - ext.offset < INLINE_BELOW_BYTES) inlineTensor(t, readExternal(ext.location, ext.offset, ext.length));
  }
  // keep_initializers_as_inputs exports list every weight as a graph input too; the packer
  // renames weights (--fp16) and the pipeline feeds only the real inputs, so drop those entries
  const inits = new Set((model.graph.initializer ?? []).map((t) => t.name));
  model.graph.input = (model.graph.input ?? []).filter((i) => !inits.has(i.name));
  const files = [...sizes.keys()];
  const storage = files.length === 0 ? 'inline' : files.length === 1 ? `external file ${files[0]}` : `one file per tensor (${files.length} files)`;
  return { name, path, model, readExternal, storage };
}

function inlineTensor(t: TensorProto, bytes: Uint8Array): void {
  t.rawData = Uint8Array.prototype.slice.call(bytes);
  delete (t as { dataLocation?: unknown }).dataLocation;
  t.externalData = [];
}
