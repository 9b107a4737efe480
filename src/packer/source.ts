// One graph of the export, read without its external weights: the .onnx protobuf is decoded
// (inline tensors become views into the file's bytes, not copies) and external tensors stay
// on disk until the chunk writer copies them, one at a time.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { decodeModel, type ExternalDataReader, type ModelProto, type TensorProto } from '../onnx';
import { PackInputError } from './errors';
import { confinedExternalFiles, externalLocationOf } from './externalData';

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
  const external = confinedExternalFiles(path, exportDir, name);
  const readExternal = external.read;
  const locations = new Set<string>();
  for (const t of model.graph.initializer ?? []) {
    const ext = externalLocationOf(t, name);
    if (!ext) continue;
    const [begin, end] = external.range(ext.location, t.name ?? '', ext.offset, ext.length);
    locations.add(ext.location);
    if (end - begin < INLINE_BELOW_BYTES) inlineTensor(t, readExternal(ext.location, ext.offset, ext.length));
  }
  // keep_initializers_as_inputs exports list every weight as a graph input too; the packer
  // renames weights (--fp16) and the pipeline feeds only the real inputs, so drop those entries
  const inits = new Set((model.graph.initializer ?? []).map((t) => t.name));
  model.graph.input = (model.graph.input ?? []).filter((i) => !inits.has(i.name));
  const files = [...locations];
  const storage = files.length === 0 ? 'inline' : files.length === 1 ? `external file ${files[0]}` : `one file per tensor (${files.length} files)`;
  return { name, path, model, readExternal, storage };
}

function inlineTensor(t: TensorProto, bytes: Uint8Array): void {
  t.rawData = Uint8Array.prototype.slice.call(bytes);
  delete (t as { dataLocation?: unknown }).dataLocation;
  t.externalData = [];
}
