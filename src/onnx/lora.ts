// LoRA slots in an exported graph. For every attention projection y = x·W (W an initializer of
// shape [n_in, n_out], the orientation torch.onnx gives nn.Linear after constant folding) we add
// two graph inputs `lora.<path>.down` [n_in, r] and `lora.<path>.up` [r, n_out], with r a free
// dimension, and the branch y' = x·W + (x·down)·up. One graph then serves any LoRA rank, and
// zero slots reproduce the original model. Layers are found through the node names torch.onnx
// writes (`/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul`), because the
// weights themselves are often anonymous (`onnx::MatMul_9091`).
import { onnx, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './proto';
import { makeValueInfo } from './builder';
import { dtypeName } from './dtype';
import { tensorDims } from './tensor';
import { loraInputNames, type LoraLayer, type LoraTarget } from '../packs/manifest';

/** diffusers attention projections (UNet) */
export const UNET_ATTENTION_PROJECTION = /(^|\.)attn[12]\.(to_q|to_k|to_v|to_out\.0)$/;
/** transformers CLIP attention projections (text encoder) */
export const CLIP_ATTENTION_PROJECTION = /(^|\.)self_attn\.(q_proj|k_proj|v_proj|out_proj)$/;

export interface InsertLoraOptions {
  /** which module paths get a slot (default: UNet and CLIP attention projections) */
  match?: RegExp | ((path: string) => boolean);
  /** name of the free rank dimension of the slot inputs */
  rankDim?: string;
  /** target written into each layer (default: text_encoder for CLIP paths, unet otherwise) */
  target?: LoraTarget;
}

export interface LoraInsertion {
  model: ModelProto;
  /** one entry per slot, in graph order */
  layers: LoraLayer[];
}

/** `/a.0/attn1/to_q/MatMul` → `a.0.attn1.to_q` (the module scopes of a torch.onnx node name). */
export function modulePathOfNode(nodeName: string): string | null {
  const parts = nodeName.split('/').filter(Boolean);
  return parts.length >= 2 ? parts.slice(0, -1).join('.') : null;
}

const defaultMatch = (path: string) => UNET_ATTENTION_PROJECTION.test(path) || CLIP_ATTENTION_PROJECTION.test(path);

/**
 * Adds a LoRA slot to every MatMul whose weight is a 2-D initializer and whose module path
 * (from its node name) matches. The input model is not changed; initializers are shared.
 */
export function insertLoraSlots(model: ModelProto, opts: InsertLoraOptions = {}): LoraInsertion {
  const graph = model.graph;
  if (!graph) throw new Error('insertLoraSlots: the model has no graph');
  const match = opts.match === undefined ? defaultMatch
    : opts.match instanceof RegExp ? (p: string) => (opts.match as RegExp).test(p) : opts.match;
  const rankDim = opts.rankDim ?? 'lora_rank';
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const taken = new Set<string>([
    ...(graph.input ?? []).map((i) => i.name ?? ''),
    ...(graph.node ?? []).flatMap((n) => n.output ?? []),
    ...inits.keys(),
  ]);
  const fresh = (base: string) => {
    let n = base;
    for (let i = 1; taken.has(n); i++) n = `${base}_${i}`;
    taken.add(n);
    return n;
  };

  const nodes: NodeProto[] = [];
  const newInputs: ValueInfoProto[] = [];
  const layers: LoraLayer[] = [];
  const seen = new Set<string>();
  for (const node of graph.node ?? []) {
    const path = node.opType === 'MatMul' && node.name ? modulePathOfNode(node.name) : null;
    const weight = path && match(path) ? inits.get(node.input?.[1] ?? '') : undefined;
    const dims = weight ? tensorDims(weight) : [];
    if (!path || !weight || dims.length !== 2) {
      nodes.push(node);
      continue;
    }
    if (seen.has(path)) throw new Error(`insertLoraSlots: two projections share the module path ${path} (node ${node.name})`);
    seen.add(path);
    const { down, up } = loraInputNames(path);
    if (taken.has(down) || taken.has(up)) throw new Error(`insertLoraSlots: the graph already has LoRA inputs for ${path}`);
    taken.add(down);
    taken.add(up);
    const [nIn, nOut] = dims;
    const dtype = dtypeName(weight.dataType ?? 1);
    newInputs.push(makeValueInfo(down, dtype, [nIn, rankDim]), makeValueInfo(up, dtype, [rankDim, nOut]));

    const x = node.input![0];
    const y = node.output![0];
    const scope = node.name!.slice(0, node.name!.lastIndexOf('/'));
    const base = fresh(`${y}_base`);
    const xDown = fresh(`${scope}/lora/down/MatMul_output_0`);
    const delta = fresh(`${scope}/lora/up/MatMul_output_0`);
    nodes.push(
      onnx.NodeProto.create({ ...node, output: [base] }),
      onnx.NodeProto.create({ name: `${scope}/lora/down/MatMul`, opType: 'MatMul', domain: '', input: [x, down], output: [xDown] }),
      onnx.NodeProto.create({ name: `${scope}/lora/up/MatMul`, opType: 'MatMul', domain: '', input: [xDown, up], output: [delta] }),
      // the sum keeps the projection's output name, so every consumer (and graph outputs) see it
      onnx.NodeProto.create({ name: `${scope}/lora/Add`, opType: 'Add', domain: '', input: [base, delta], output: [y] }),
    );
    const target = opts.target ?? (CLIP_ATTENTION_PROJECTION.test(path) ? 'text_encoder' : 'unet');
    layers.push({ name: path, target, nIn, nOut });
  }

  const newGraph: GraphProto = { ...graph, node: nodes, input: [...(graph.input ?? []), ...newInputs] };
  return { model: { ...model, graph: newGraph }, layers };
}
