// --hypernet's check, apart from reading the file (./hypernet.ts) so the pack writer's
// node-free parts (./packParts.ts) can run it: the graph must match the I/O contract in
// src/models/hypernet.ts and the pack it goes into (one row per LoRA layer, aMax/bMax wide).
import { encodeModel, opsetVersion, valueType, type ModelProto } from '../onnx';
import { inferShapes } from '../autodiff/shapes';
import { HYPERNET_IO } from '../packs/graphIO';
import { PackInputError } from './errors';
import { checkPlainExport, declaredShape } from './inspect';

export interface HypernetCheck {
  /** S of pixel_values [1, 3, S, S] */
  imageSize: number;
  /** the graph's bytes as the pack stores them (external weights inlined) */
  bytes: Uint8Array;
}

const fail = (why: string): never => { throw new PackInputError('hypernet', `--hypernet: ${why} (contract: src/models/hypernet.ts)`); };

export function checkHypernet(model: ModelProto, layerCount: number, aMax: number, bMax: number): HypernetCheck {
  const g = model.graph;
  if (!g) return fail('the model has no graph');
  try {
    checkPlainExport(model, 'the hypernetwork');
  } catch (e) {
    return fail((e as Error).message);
  }
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const feeds = (g.input ?? []).filter((i) => !inits.has(i.name));
  if (feeds.length !== 1 || feeds[0].name !== HYPERNET_IO.input) {
    fail(`the graph must take exactly one input ${HYPERNET_IO.input}, it takes ${feeds.map((f) => f.name).join(', ') || 'none'}`);
  }
  const px = feeds[0];
  const pxType = valueType(px);
  const pxShape = declaredShape(px);
  const S = pxShape?.[2];
  if (pxType?.dtype !== 'float32' || !pxShape || pxShape.length !== 4 || pxShape[0] !== 1 || pxShape[1] !== 3 || typeof S !== 'number' || S < 1 || pxShape[3] !== S) {
    fail(`${HYPERNET_IO.input} must be float32 [1, 3, S, S] with a fixed S, it is ${pxType?.dtype ?? '?'} [${(pxShape ?? []).join(', ')}]`);
  }
  const shapes = inferShapes(g, opsetVersion(model));
  for (const [name, width] of [[HYPERNET_IO.down, aMax], [HYPERNET_IO.up, bMax]] as const) {
    const out = (g.output ?? []).find((o) => o.name === name);
    if (!out) fail(`the graph has no output ${name} (outputs: ${(g.output ?? []).map((o) => o.name).join(', ')})`);
    const dtype = valueType(out!)?.dtype ?? shapes.get(name)?.dtype;
    const declared = declaredShape(out!);
    const inferred = shapes.get(name)?.shape ?? null;
    const dims = [0, 1].map((i) => (typeof declared?.[i] === 'number' ? declared[i] : inferred?.[i] ?? declared?.[i] ?? '?'));
    const rank = declared?.length ?? inferred?.length;
    if (dtype !== 'float32' || rank !== 2 || dims[0] !== layerCount || dims[1] !== width) {
      fail(`${name} must be float32 [${layerCount}, ${width}] (one row per LoRA layer of this pack, ${name === HYPERNET_IO.down ? 'aMax' : 'bMax'} wide), it is ${dtype ?? '?'} [${rank === 2 ? dims.join(', ') : (declared ?? inferred ?? []).join(', ')}]`);
    }
  }
  return { imageSize: S as number, bytes: encodeModel(model) };
}
