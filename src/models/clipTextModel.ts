// CLIPTextModel in miniature (transformers' module names): token + position embeddings,
// pre-LN causal self-attention layers with quick-GELU MLPs, final LayerNorm; the pooled output
// is the hidden state at the first EOS token, as CLIP computes it.
import { GraphBuilder } from '../onnx';
import { WeightInit } from './init';
import { Net, attentionCore, layerNorm, linear, quickGelu, type LoraSlot, type WeightSource } from './layers';

export interface ClipTextConfig {
  vocabSize: number;
  maxLength: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  eosTokenId: number;
  layerNormEps: number;
  /**
   * The causal mask's value above the diagonal; default float32's lowest, as CLIP builds it.
   * Packs that may store weights in float16 give float16's lowest (-65504): after softmax both
   * are exactly 0 in float32 and float16.
   */
  maskFill?: number;
}

export interface BuildOptions {
  seed: number;
  /** add a LoRA slot (graph inputs) to every q/k/v/out projection; default true */
  loraSlots?: boolean;
  /** the parameters from a checkpoint instead of the seeded init */
  weights?: WeightSource;
}

export interface BuiltGraph { builder: GraphBuilder; slots: LoraSlot[] }

export function buildClipTextModel(cfg: ClipTextConfig, opts: BuildOptions): BuiltGraph {
  const b = new GraphBuilder('text_encoder');
  const n = new Net(b, new WeightInit(opts.seed), opts.loraSlots ?? true, opts.weights);
  const D = cfg.hiddenSize;
  const T = cfg.maxLength;
  if (D % cfg.heads !== 0) throw new Error(`hidden size ${D} does not split into ${cfg.heads} heads`);
  const headDim = D / cfg.heads;
  const ids = b.input('input_ids', 'int32', ['batch', T]);

  const last = n.scope('text_model', () => {
    let h = n.scope('embeddings', () => {
      const tok = n.scope('token_embedding', () => b.op1('Gather', [n.param('weight', [cfg.vocabSize, D], () => n.init.normal(cfg.vocabSize * D, 1)), ids]));
      const pos = n.scope('position_embedding', () => {
        const table = n.param('weight', [T, D], () => n.init.normal(T * D, 0.5));
        const positionIds = b.constant(BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), [1, T]);
        return b.op1('Gather', [table, positionIds]);
      });
      return b.op1('Add', [tok, pos]);
    });

    // causal mask: position i attends to j ≤ i (float min above the diagonal, as CLIP builds it)
    const maskData = new Float32Array(T * T);
    const fill = cfg.maskFill ?? -3.4028234663852886e38;
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) maskData[i * T + j] = fill;
    const mask = b.constant(maskData, [1, 1, T, T]);

    n.scope('encoder', () => {
      for (let i = 0; i < cfg.layers; i++) {
        n.scope(`layers.${i}`, () => {
          const x1 = layerNorm(n, 'layer_norm1', h, D, cfg.layerNormEps);
          const attn = n.scope('self_attn', () => {
            const q = linear(n, 'q_proj', x1, D, D, { lora: true });
            const k = linear(n, 'k_proj', x1, D, D, { lora: true });
            const v = linear(n, 'v_proj', x1, D, D, { lora: true });
            return linear(n, 'out_proj', attentionCore(n, q, k, v, cfg.heads, headDim, mask), D, D, { lora: true });
          });
          h = b.op1('Add', [h, attn]);
          const x2 = layerNorm(n, 'layer_norm2', h, D, cfg.layerNormEps);
          const mlp = n.scope('mlp', () => {
            const a = quickGelu(n, linear(n, 'fc1', x2, D, cfg.intermediateSize));
            return linear(n, 'fc2', a, cfg.intermediateSize, D);
          });
          h = b.op1('Add', [h, mlp]);
        });
      }
    });
    return layerNorm(n, 'final_layer_norm', h, D, cfg.layerNormEps);
  });

  const pooled = n.scope('text_model', () => {
    const isEos = b.op1('Cast', [b.op1('Equal', [ids, b.constant(new Int32Array([cfg.eosTokenId]), [])])], { to: 6 });
    const eosIndex = b.op1('ArgMax', [isEos], { axis: -1, keepdims: 1 });
    return b.op1('GatherND', [last, eosIndex], { batch_dims: 1 });
  });

  b.output(last, 'last_hidden_state', 'float32', ['batch', T, D]);
  b.output(pooled, 'pooler_output', 'float32', ['batch', D]);
  return { builder: b, slots: n.slots };
}
