// --hypernet: reads a hypernetwork graph (Node), then ./hypernetCheck.ts checks it against the
// I/O contract in src/models/hypernet.ts and the pack it goes into, and it is copied in as
// hypernet/model.onnx.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeModel, inlineExternalData, type ModelProto } from '../onnx';
import { PackInputError } from './errors';
import { confinedExternalFiles, externalLocationOf } from './externalData';

const fail = (why: string): never => { throw new PackInputError('hypernet', `--hypernet: ${why} (contract: src/models/hypernet.ts)`); };

/** Inline models are taken as they are; a model with external weights is inlined (hypernetworks are small). */
export function loadHypernet(path: string): ModelProto {
  let model: ModelProto;
  try {
    model = decodeModel(readFileSync(path));
  } catch (e) {
    return fail(`${path}: ${(e as Error).message}`);
  }
  if ((model.graph?.initializer ?? []).some((t) => externalLocationOf(t, path))) {
    model = inlineExternalData(model, confinedExternalFiles(path, dirname(path), `--hypernet ${path}`).read);
  }
  return model;
}

export { checkHypernet, type HypernetCheck } from './hypernetCheck';
