// The identity embedder: a small CNN (64×64 RGB → embedding, compared by cosine), and its
// training graph, which appends a supervised contrastive loss over the batch (each image's one
// positive is another image of the same person in another style, every other image of the batch
// is a negative) so one run of the autodiff's gradient graph gives the loss and every weight's
// gradient. Both graphs name their weights alike: the trained values are the embedder's.
import { GraphBuilder, float, hostTensor, makeTensorProto, tensorDims, type ModelProto } from '../../onnx';
import { WeightInit } from '../../models/init';
import { groupNorm, layerNorm, Net } from '../../models/layers';

export interface EmbedderConfig {
  imageSize: number;
  /** output channels of each 3×3 conv (ReLU after each) */
  channels: number[];
  /** stride of each conv */
  strides: number[];
  embedding: number;
  /** GroupNorm groups after each conv (divides every channel count) */
  groups: number;
}

export const TINY_EMBEDDER: EmbedderConfig = {
  imageSize: 64,
  channels: [24, 32, 48, 64, 96, 96],
  strides: [1, 2, 2, 1, 2, 2],
  embedding: 96,
  groups: 8,
};

export const EMBEDDER_IO = { input: 'pixels', output: 'embedding', positives: 'positives', loss: 'loss' } as const;

export interface LossConfig {
  /** softmax temperature τ of the cosine similarities */
  temperature: number;
}

export function validateEmbedderConfig(cfg: EmbedderConfig): void {
  if (cfg.channels.length !== cfg.strides.length || cfg.channels.length === 0) throw new Error('embedder: channels and strides must be non-empty lists of one length');
  const down = cfg.strides.reduce((p, s) => p * s, 1);
  for (const c of cfg.channels) if (c % cfg.groups !== 0) throw new Error(`embedder: ${c} channels do not split into ${cfg.groups} groups`);
  if (cfg.imageSize % down !== 0) throw new Error(`embedder: image size ${cfg.imageSize} is not a multiple of the total stride ${down}`);
}

/**
 * conv 3×3 → GroupNorm → ReLU. The norm centres every image's features (without it all ReLU
 * features are positive and every embedding starts nearly parallel, which slowed training).
 */
function convNormRelu(n: Net, name: string, x: string, cin: number, cout: number, stride: number, groups: number): string {
  const { b, init } = n;
  return n.scope(name, () => {
    const w = b.param('weight', init.normal(cout * cin * 9, Math.sqrt(2 / (cin * 9))), [cout, cin, 3, 3]);
    const bias = b.param('bias', init.zeros(cout), [cout]);
    const y = b.op1('Conv', [x, w, bias], { dilations: [1, 1], group: 1, kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [stride, stride] });
    return b.op1('Relu', [groupNorm(n, 'norm', y, cout, groups, 1e-5)]);
  });
}

function embed(b: GraphBuilder, cfg: EmbedderConfig, seed: number, batch: number | string): string {
  validateEmbedderConfig(cfg);
  const n = new Net(b, new WeightInit(seed), false);
  const { init } = n;
  let x = b.input(EMBEDDER_IO.input, 'float32', [batch, 3, cfg.imageSize, cfg.imageSize]);
  let cin = 3, size = cfg.imageSize;
  cfg.channels.forEach((cout, i) => {
    x = convNormRelu(n, `conv${i}`, x, cin, cout, cfg.strides[i], cfg.groups);
    cin = cout;
    size /= cfg.strides[i];
  });
  const nIn = cin * size * size;
  // centring the flattened features per image removes the offset every ReLU output shares,
  // which would otherwise make all embeddings start out nearly parallel
  const flat = layerNorm(n, 'norm', b.op1('Flatten', [x], { axis: 1 }), nIn);
  return b.scope('proj', () => {
    const w = b.param('weight', init.normal(cfg.embedding * nIn, 1 / Math.sqrt(nIn)), [cfg.embedding, nIn]);
    const bias = b.param('bias', init.zeros(cfg.embedding), [cfg.embedding]);
    return b.op1('Gemm', [flat, w, bias], { alpha: float(1), beta: float(1), transB: 1 });
  });
}

/** Inference graph: `pixels` [batch, 3, S, S] in [-1, 1] → `embedding` [batch, D]. */
export function buildEmbedder(cfg: EmbedderConfig, seed: number): ModelProto {
  const b = new GraphBuilder('identity_embedder');
  b.output(embed(b, cfg, seed, 'batch'), EMBEDDER_IO.output, 'float32', ['batch', cfg.embedding]);
  return b.toModel();
}

/** x / ‖x‖ along `axis` (ε inside the root so a zero row stays finite). */
function l2normalize(b: GraphBuilder, x: string, axis: number): string {
  const sq = b.op1('ReduceSum', [b.op1('Mul', [x, x]), b.ints([axis])], { keepdims: 1 });
  return b.op1('Div', [x, b.op1('Sqrt', [b.op1('Add', [sq, b.scalar(1e-8)])])]);
}

/**
 * Training graph for a fixed batch: inputs `pixels` and `positives` ([batch, batch], row i has 1
 * at the batch index of image i's positive), output `loss` = mean over images of
 * −log softmax_j(cos(e_i, e_j)/τ) at the positive, j ranging over the other images.
 */
export function buildEmbedderTrainGraph(cfg: EmbedderConfig, loss: LossConfig, seed: number, batch: number): ModelProto {
  const b = new GraphBuilder('identity_embedder_train');
  const e = l2normalize(b, embed(b, cfg, seed, batch), 1);
  const positives = b.input(EMBEDDER_IO.positives, 'float32', [batch, batch]);
  const cos = b.op1('MatMul', [e, b.op1('Transpose', [e], { perm: [1, 0] })]);
  const self = new Float32Array(batch * batch);
  for (let i = 0; i < batch; i++) self[i * batch + i] = 1e4;
  // an image is never its own candidate
  const logits = b.op1('Sub', [b.op1('Mul', [cos, b.scalar(1 / loss.temperature)]), b.constant(self, [batch, batch])]);
  const logp = b.op1('LogSoftmax', [logits], { axis: 1 });
  const total = b.op1('ReduceSum', [b.op1('Mul', [logp, positives]), b.ints([0, 1])], { keepdims: 0 });
  b.output(b.op1('Mul', [total, b.scalar(-1 / batch)]), EMBEDDER_IO.loss, 'float32', []);
  return b.toModel();
}

export const EMBEDDER_METADATA_KEY = 'hyperbooth.identity-embedder';

/** The inference graph with trained weights (the training graph's, by name; the class head is dropped). */
export function embedderWithWeights(cfg: EmbedderConfig, params: Record<string, Float32Array>, info: Record<string, unknown> = {}): ModelProto {
  const model = buildEmbedder(cfg, 0);
  const graph = model.graph!;
  graph.initializer = (graph.initializer ?? []).map((t) => {
    const name = t.name ?? '';
    if (name.startsWith('onnx::')) return t;
    const values = params[name];
    if (!values) throw new Error(`embedder weight ${name} is missing from the trained parameters`);
    return makeTensorProto(name, hostTensor(Float32Array.from(values), tensorDims(t)));
  });
  model.metadataProps = [{ key: EMBEDDER_METADATA_KEY, value: JSON.stringify({ config: cfg, ...info }) }];
  return model;
}
