// Memory-efficient attention in standard ONNX ops. softmax(q·kᵀ·s + mask)·v is split over blocks
// of queries: each block computes its own [.., n, Nk] scores, softmax and product with v, and the
// blocks' results are concatenated, so no [heads, Nq, Nk] score matrix exists whole. Each row of
// the softmax only sees its own scores, so the result is the same numbers. Applied as a pass over
// the graph (the builders' and a real export's attention have the same MatMul → Mul → [Add] →
// Softmax → MatMul shape), only where the whole matrix would exceed a threshold, so small graphs
// (the tiny pack) stay as they are. Train graphs recompute each block's scores in the backward
// pass (chunkRecomputeSegments), so the blocks' probabilities are not all kept for it either.
import { inferShapes } from '../autodiff/shapes';
import { withFixedDims } from '../autodiff';
import { bytesPerElement, onnx, opsetVersion, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx';

export interface AttentionChunkOptions {
  /** largest score tensor (all batch elements, at `dims`) left whole, in bytes */
  maxScoreBytes: number;
  /** sizes of symbolic dims for measuring the score tensors (e.g. the CFG batch, 2) */
  dims?: Record<string, number>;
  /** measure float scores at this width (a graph built in float32 that will run in float16) */
  floatDtype?: 'float16' | 'float32';
}

export interface ChunkedAttention {
  /** the node name prefix of the attention (its scores MatMul's folder) */
  name: string;
  /** score tensor bytes before, and of the largest block after */
  wholeBytes: number;
  blockBytes: number;
  blocks: number;
}

/** Marker in the names of the nodes the pass makes: `<attention>/chunk.<i>/<op>`. */
export const CHUNK_SCOPE = 'chunk.';

interface Pattern { scores: NodeProto; chain: NodeProto[]; softmax: NodeProto; product: NodeProto; mask?: { node: NodeProto; input: number } }

const single = <T>(xs: T[] | undefined): T | undefined => (xs && xs.length === 1 ? xs[0] : undefined);

function findPatterns(nodes: NodeProto[], isConstant: (name: string) => boolean): Pattern[] {
  const producer = new Map<string, NodeProto>();
  const readers = new Map<string, NodeProto[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) if (o) producer.set(o, n);
    for (const i of n.input ?? []) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  }
  const out: Pattern[] = [];
  for (const softmax of nodes) {
    if (softmax.opType !== 'Softmax') continue;
    const product = single(readers.get(softmax.output![0]));
    if (!product || product.opType !== 'MatMul' || product.input![0] !== softmax.output![0]) continue;
    // back from the softmax through a scale (Mul/Div by a constant) and an additive mask
    const chain: NodeProto[] = [];
    let mask: Pattern['mask'];
    let cur = producer.get(softmax.input![0]);
    while (cur && cur.opType !== 'MatMul') {
      if (single(readers.get(cur.output![0])) === undefined) break;
      if ((cur.opType === 'Mul' || cur.opType === 'Div') && isConstant(cur.input![1])) chain.unshift(cur);
      else if (cur.opType === 'Add' && !mask) {
        // the mask is the operand that does not come from the scores
        const fromScores = (x: string) => ['MatMul', 'Mul', 'Div'].includes(producer.get(x)?.opType ?? '');
        const side = fromScores(cur.input![0]) ? 0 : fromScores(cur.input![1]) ? 1 : -1;
        if (side < 0) break;
        mask = { node: cur, input: 1 - side };
        chain.unshift(cur);
        cur = producer.get(cur.input![side]);
        continue;
      } else break;
      cur = producer.get(cur.input![0]);
    }
    if (!cur || cur.opType !== 'MatMul' || single(readers.get(cur.output![0])) === undefined) continue;
    out.push({ scores: cur, chain, softmax, product, ...(mask ? { mask } : {}) });
  }
  return out;
}

const folder = (name: string | null | undefined, fallback: string) => {
  const n = name ?? '';
  return n.includes('/') ? n.slice(0, n.lastIndexOf('/')) : fallback;
};

/**
 * A copy of `model` with every attention whose score tensor exceeds `maxScoreBytes` split over
 * query blocks of (nearly) equal size. Returns the model and what was split.
 */
export function chunkAttention(model: ModelProto, opts: AttentionChunkOptions): { model: ModelProto; chunked: ChunkedAttention[] } {
  const graph = model.graph!;
  const opset = opsetVersion(model);
  const measured = opts.dims ? withFixedDims(model, opts.dims) : model;
  const shapes = inferShapes(measured.graph!, opset);
  const constants = new Set<string>((graph.initializer ?? []).map((t) => t.name!));
  for (const n of graph.node ?? []) if (n.opType === 'Constant') constants.add(n.output![0]);
  const patterns = findPatterns(graph.node ?? [], (x) => constants.has(x));

  const replaced = new Map<NodeProto, NodeProto[]>();
  const dropped = new Set<NodeProto>();
  const extra: TensorProto[] = [];
  const chunked: ChunkedAttention[] = [];
  const used = new Set<string>([...(graph.node ?? []).map((n) => n.name ?? ''), ...(graph.node ?? []).flatMap((n) => n.output ?? []), ...constants]);
  const fresh = (base: string) => { let s = base; for (let i = 1; used.has(s); i++) s = `${base}_${i}`; used.add(s); return s; };

  for (const p of patterns) {
    const scoreShape = shapes.staticShape(p.softmax.input![0]);
    const dtype = shapes.dtype(p.softmax.input![0]);
    const qShape = shapes.staticShape(p.scores.input![0]);
    if (!scoreShape || !dtype || !qShape || scoreShape.length < 3) continue;
    const axis = (p.softmax.attribute ?? []).find((a) => a.name === 'axis');
    const softmaxAxis = axis ? Number(axis.i ?? -1) : opset >= 13 ? -1 : 1;
    if (softmaxAxis !== -1 && softmaxAxis !== scoreShape.length - 1) continue;
    const wholeBytes = scoreShape.reduce((a, b) => a * b, 1) * bytesPerElement(opts.floatDtype ?? dtype);
    if (wholeBytes <= opts.maxScoreBytes) continue;
    const rows = scoreShape[scoreShape.length - 2];
    const blocks = Math.min(rows, Math.ceil(wholeBytes / opts.maxScoreBytes));
    if (blocks < 2) continue;
    const sizes = Array.from({ length: blocks }, (_, i) => Math.floor((rows * (i + 1)) / blocks) - Math.floor((rows * i) / blocks));
    const rowAxis = qShape.length - 2;
    const prefix = folder(p.scores.name, `/${fresh('attention')}`);
    const nodes: NodeProto[] = [];
    const node = (scope: string, opType: string, inputs: string[], outputs: number, attrs: AttributeProto[] = []) => {
      const name = fresh(`${prefix}/${scope}${opType}`);
      const outs = Array.from({ length: outputs }, (_, k) => fresh(`${name}_output_${k}`));
      nodes.push(onnx.NodeProto.create({ name, opType, input: inputs, output: outs, attribute: attrs }));
      return outs;
    };
    const splitSizes = (x: string, axisOf: number) => {
      if (opset >= 13) {
        const sizesName = fresh(`${prefix}/chunk_sizes`);
        extra.push(onnx.TensorProto.create({ name: sizesName, dataType: onnx.TensorProto.DataType.INT64, dims: [sizes.length], rawData: new Uint8Array(BigInt64Array.from(sizes.map(BigInt)).buffer) }));
        return node('', 'Split', [x, sizesName], blocks, [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axisOf }]);
      }
      return node('', 'Split', [x], blocks, [
        { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axisOf },
        { name: 'split', type: onnx.AttributeProto.AttributeType.INTS, ints: sizes },
      ]);
    };
    const qBlocks = splitSizes(p.scores.input![0], rowAxis);
    // a mask with a row per query is split with them; one that broadcasts over rows is shared
    let maskBlocks: string[] | null = null;
    if (p.mask) {
      const m = p.mask.node.input![p.mask.input];
      const ms = shapes.staticShape(m);
      if (!ms) continue;
      const rowsOfMask = ms.length >= 2 ? ms[ms.length - 2] : 1;
      if (rowsOfMask !== 1) maskBlocks = splitSizes(m, ms.length - 2);
    }
    const results = qBlocks.map((q, i) => {
      const scope = `${CHUNK_SCOPE}${i}/`;
      let s = node(scope, 'MatMul', [q, p.scores.input![1]], 1)[0];
      for (const c of p.chain) {
        const other = c === p.mask?.node ? (maskBlocks ? maskBlocks[i] : c.input![p.mask.input]) : c.input![1];
        s = node(scope, c.opType!, [s, other], 1, c.attribute ?? [])[0];
      }
      const probs = node(scope, 'Softmax', [s], 1, p.softmax.attribute ?? [])[0];
      return node(scope, 'MatMul', [probs, p.product.input![1]], 1)[0];
    });
    nodes.push(onnx.NodeProto.create({
      name: fresh(`${prefix}/Concat`), opType: 'Concat', input: results, output: [p.product.output![0]],
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: rowAxis }],
    }));
    replaced.set(p.product, nodes);
    for (const n of [p.scores, ...p.chain, p.softmax]) dropped.add(n);
    chunked.push({ name: prefix, wholeBytes, blockBytes: Math.ceil(wholeBytes * Math.max(...sizes) / rows), blocks });
  }
  if (chunked.length === 0) return { model, chunked };
  const node = (graph.node ?? []).flatMap((n) => (dropped.has(n) ? [] : replaced.get(n) ?? [n]));
  return { model: { ...model, graph: { ...graph, node, initializer: [...(graph.initializer ?? []), ...extra] } }, chunked };
}

/**
 * Recompute segments for a train graph made from a chunked forward: one per query block (its
 * scores, scale, mask, softmax and product with v), so each block's probabilities are recomputed
 * when the backward pass reaches that block instead of all being kept from the forward pass.
 */
export function chunkRecomputeSegments(model: ModelProto): string[][] {
  const bySegment = new Map<string, string[]>();
  for (const n of model.graph?.node ?? []) {
    const m = /^(.*\/chunk\.\d+)\/[^/]+$/.exec(n.name ?? '');
    if (!m || n.opType === 'Split') continue;
    bySegment.set(m[1], [...(bySegment.get(m[1]) ?? []), n.name!]);
  }
  return [...bySegment.values()];
}
