// A small graph builder. Scopes are module names (`down_blocks.0`, `attn1`, `to_q`), so node
// names come out as torch.onnx writes them (`/down_blocks.0/attn1/to_q/MatMul`) and module
// paths as diffusers names them (`down_blocks.0.attn1.to_q`): later passes find layers by
// these names, exactly as they do in a real Stable Diffusion export.
import { onnx, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto, type AttributeProto } from './proto';
import { dtypeCode, type DTypeName, type TypedArray } from './dtype';
import { makeTensorProto, hostTensor } from './tensor';

/** A float attribute whose value happens to be integral (e.g. alpha = 1.0) must say so. */
export class FloatAttr { constructor(readonly value: number) {} }
export class FloatsAttr { constructor(readonly value: number[]) {} }
export const float = (v: number) => new FloatAttr(v);
export const floats = (v: number[]) => new FloatsAttr(v);

export type AttrValue = number | number[] | string | string[] | FloatAttr | FloatsAttr | TensorProto;
export type Dim = number | string;

export function makeAttribute(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (v instanceof FloatAttr) return { name, type: T.FLOAT, f: v.value };
  if (v instanceof FloatsAttr) return { name, type: T.FLOATS, floats: v.value };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { name, type: T.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    const nums = v as number[];
    return nums.every(Number.isInteger) ? { name, type: T.INTS, ints: nums } : { name, type: T.FLOATS, floats: nums };
  }
  return { name, type: T.TENSOR, t: v };
}

export function makeValueInfo(name: string, dtype: DTypeName, shape: readonly Dim[]): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: dtypeCode(dtype),
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

export interface OpOptions {
  /** number of outputs (default 1) */
  outputs?: number;
  /** explicit output names */
  outputNames?: string[];
  /** node name leaf (default: the op type, uniquified inside the scope) */
  name?: string;
  domain?: string;
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  readonly valueInfo: ValueInfoProto[] = [];
  private readonly scopes: string[] = [];
  private readonly used = new Set<string>();
  private constCount = 0;

  constructor(readonly name = 'graph') {}

  /** Run `fn` inside module `name` (a diffusers module name such as `down_blocks.0`). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try { return fn(); } finally { this.scopes.pop(); }
  }

  /** Dotted module path of the current scope, diffusers style. */
  get modulePath(): string { return this.scopes.join('.'); }

  private unique(base: string): string {
    let n = base;
    for (let i = 1; this.used.has(n); i++) n = `${base}_${i}`;
    this.used.add(n);
    return n;
  }

  input(name: string, dtype: DTypeName, shape: readonly Dim[]): string {
    this.used.add(name);
    this.inputs.push(makeValueInfo(name, dtype, shape));
    return name;
  }

  /** Declare `value` as a graph output called `name` (an Identity is added when they differ). */
  output(value: string, name: string, dtype: DTypeName, shape: readonly Dim[]): string {
    const out = value === name ? value : this.op('Identity', [value], {}, { outputNames: [name], name: `output_${name}` })[0];
    this.outputs.push(makeValueInfo(out, dtype, shape));
    return out;
  }

  /** A named parameter of the current module: `<module path>.<leaf>` (e.g. `...to_out.0.bias`). */
  param(leaf: string, data: TypedArray, dims: number[]): string {
    const name = this.unique(this.modulePath ? `${this.modulePath}.${leaf}` : leaf);
    this.initializers.push(makeTensorProto(name, hostTensor(data, dims)));
    return name;
  }

  /** A named parameter whose initializer is made elsewhere (e.g. pointing at a checkpoint's bytes). */
  paramTensor(leaf: string, make: (name: string) => TensorProto): string {
    const name = this.unique(this.modulePath ? `${this.modulePath}.${leaf}` : leaf);
    this.initializers.push({ ...make(name), name });
    return name;
  }

  /** An anonymous constant initializer (shapes, axes, scalars). */
  constant(data: TypedArray, dims: number[]): string {
    const name = this.unique(`onnx::Constant_${this.constCount++}`);
    this.initializers.push(makeTensorProto(name, hostTensor(data, dims)));
    return name;
  }

  scalar(v: number): string { return this.constant(new Float32Array([v]), []); }
  ints(v: number[]): string { return this.constant(BigInt64Array.from(v.map(BigInt)), [v.length]); }

  /** Add one node; returns its output names. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): string[] {
    const path = this.scopes.length ? `/${this.scopes.join('/')}` : '';
    const nodeName = this.unique(`${path}/${opts.name ?? opType}`);
    const n = opts.outputNames?.length ?? opts.outputs ?? 1;
    const outputs = opts.outputNames ?? Array.from({ length: n }, (_, i) => this.unique(`${nodeName}_output_${i}`));
    outputs.forEach((o) => this.used.add(o));
    this.nodes.push(onnx.NodeProto.create({
      name: nodeName,
      opType,
      domain: opts.domain ?? '',
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
    }));
    return outputs;
  }

  /** Single-output shorthand. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): string {
    return this.op(opType, inputs, attrs, opts)[0];
  }

  toGraph(): GraphProto {
    return {
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
      valueInfo: this.valueInfo,
    };
  }

  toModel(opts: { opset?: number; producer?: string; metadata?: Record<string, string> } = {}): ModelProto {
    return makeModel(this.toGraph(), opts);
  }
}

export function makeModel(graph: GraphProto, opts: { opset?: number; producer?: string; metadata?: Record<string, string> } = {}): ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: opts.producer ?? 'hyperbooth',
    opsetImport: [{ domain: '', version: opts.opset ?? 17 }],
    graph,
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}
