// Gradient checkpointing. The backward rules of a node in a recompute segment read the
// segment's values from clones of its forward nodes, emitted at their first backward use, so
// the forward copies die when the forward pass is done with them. Two details keep onnxruntime
// from undoing this: its common-subexpression elimination would merge a clone with the node it
// copies, and its scheduler could run a clone as soon as its inputs exist (during the forward).
// So each float input a segment keeps is routed through `x + 0·dy₀` (dy₀: the first element of
// a gradient that exists only once the backward pass reaches the segment): a different value
// to CSE, and a data dependency that holds the recomputation back until it is needed.
import { onnx, type NodeProto } from '../onnx';
import { closestNames, UnknownNameError } from './errors';
import type { Emitter } from './emitter';
import { isFloat, type ShapeTable } from './shapeTable';

const BLOCK = /^(resnets|attentions|transformer_blocks|layers|layer|blocks|block|res_blocks|resblocks)\.\d+$/;
const NONDETERMINISTIC = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli']);

/** The block a node belongs to, from its torch.onnx name: `/down_blocks.0/attentions.0/...` → `/down_blocks.0/attentions.0`. */
function blockKey(name: string): string | null {
  const parts = name.split('/');
  for (let i = 0; i < parts.length - 1; i++) if (BLOCK.test(parts[i])) return parts.slice(0, i + 1).join('/');
  return null;
}

/**
 * The 'auto' segments: one per Transformer/ResNet/encoder-layer block found in the node names;
 * without such names, √n contiguous runs of the differentiated nodes (the classic schedule).
 */
export function autoSegments(order: NodeProto[], activeNodes: NodeProto[]): NodeProto[][] {
  const byKey = new Map<string, NodeProto[]>();
  for (const n of order) {
    const k = blockKey(n.name ?? '');
    if (!k) continue;
    const list = byKey.get(k) ?? [];
    list.push(n);
    byKey.set(k, list);
  }
  const active = new Set(activeNodes);
  const blocks = [...byKey.values()].filter((ns) => ns.some((n) => active.has(n)));
  if (blocks.length > 0) return blocks;
  const n = activeNodes.length;
  if (n < 4) return [];
  const size = Math.ceil(Math.sqrt(n));
  const segs: NodeProto[][] = [];
  for (let i = 0; i < n; i += size) segs.push(activeNodes.slice(i, i + size));
  return segs;
}

export function namedSegments(order: NodeProto[], segments: string[][]): NodeProto[][] {
  const byName = new Map(order.map((n) => [n.name ?? '', n]));
  const seen = new Set<string>();
  return segments.map((seg) => seg.map((name) => {
    const n = byName.get(name);
    if (!n) throw new UnknownNameError('node in recompute segment', name, closestNames(name, byName.keys()));
    if (seen.has(name)) throw new Error(`node '${name}' is in more than one recompute segment`);
    seen.add(name);
    return n;
  }));
}

export class Recomputer {
  private readonly segmentOf = new Map<NodeProto, number>();
  private readonly producer = new Map<string, NodeProto>();
  private readonly clones = new Map<NodeProto, string[]>();
  private readonly gated = new Map<string, string>();
  private readonly zeros = new Map<string, string>();
  private readonly constant = new Set<string>();

  constructor(private readonly e: Emitter, private readonly t: ShapeTable, order: NodeProto[], segments: NodeProto[][], initializers: string[]) {
    segments.forEach((seg, i) => seg.forEach((n) => {
      if (NONDETERMINISTIC.has(n.opType ?? '')) throw new Error(`node '${n.name}' (${n.opType}) cannot be recomputed: it is random`);
      this.segmentOf.set(n, i);
    }));
    for (const n of order) for (const o of n.output ?? []) if (o) this.producer.set(o, n);
    for (const name of initializers) this.constant.add(name);
    for (const n of order) {
      if ((n.input ?? []).every((i) => !i || this.constant.has(i))) for (const o of n.output ?? []) if (o) this.constant.add(o);
    }
  }

  get segmentCount(): number { return new Set(this.segmentOf.values()).size; }

  segmentIndex(node: NodeProto): number | undefined { return this.segmentOf.get(node); }

  /**
   * The name under which the backward rule of a node in segment `seg` reads forward value
   * `name`; `trigger` gives a gradient value that exists once that backward rule runs.
   */
  resolve(name: string, seg: number | undefined, trigger: () => string | null): string {
    if (seg === undefined) return name;
    const p = this.producer.get(name);
    if (!p || this.segmentOf.get(p) !== seg) return name;
    return this.cloneOf(p, seg, trigger)[(p.output ?? []).indexOf(name)];
  }

  private cloneOf(p: NodeProto, seg: number, trigger: () => string | null): string[] {
    const hit = this.clones.get(p);
    if (hit) return hit;
    const inputs = (p.input ?? []).map((u) => {
      if (!u || this.constant.has(u)) return u;
      const q = this.producer.get(u);
      if (q && this.segmentOf.get(q) === seg) return this.resolve(u, seg, trigger);
      return this.gate(u, seg, trigger);
    });
    let outs: string[];
    if (inputs.every((u, i) => u === (p.input ?? [])[i])) {
      outs = [...(p.output ?? [])]; // nothing to recompute it from: keep the forward value
    } else {
      outs = (p.output ?? []).map((o) => (o ? this.e.names.fresh(`${o}_recomputed`) : ''));
      this.e.nodes.push(onnx.NodeProto.create({
        ...p,
        name: this.e.names.fresh(`${p.name || p.opType}_recomputed`),
        input: inputs,
        output: outs,
      }));
      outs.forEach((o, i) => { if (o) this.t.alias(o, p.output![i]); });
    }
    this.clones.set(p, outs);
    return outs;
  }

  private gate(u: string, seg: number, trigger: () => string | null): string {
    const dt = this.t.dtype(u);
    if (!isFloat(dt)) return u;
    const key = `${seg}|${u}`;
    const hit = this.gated.get(key);
    if (hit) return hit;
    const z = this.zero(seg, dt!, trigger);
    const g = z ? this.e.add(u, z) : u;
    if (g !== u) this.t.alias(g, u);
    this.gated.set(key, g);
    return g;
  }

  private zero(seg: number, dtype: string, trigger: () => string | null): string | null {
    const key = `${seg}|${dtype}`;
    const hit = this.zeros.get(key);
    if (hit) return hit;
    const tr = trigger();
    if (!tr) return null;
    const { e } = this;
    const first = e.slice(e.reshape(tr, [-1]), [0], [1], [0]);
    const trDtype = e.dtypeOf(tr);
    let z = e.mul(first, e.scalar(0, trDtype));
    if (trDtype !== dtype) z = e.cast(z, dtype as never);
    this.zeros.set(key, z);
    return z;
  }
}
