/**
 * The hypernetwork (HyperDreamBooth §3.2): face crop → a rank-1 LiDB for every LoRA layer of the pack.
 *
 * ## I/O contract (what any hypernetwork graph in a pack must satisfy)
 *
 * - File: `manifest.hypernet.model` (ONNX, opset 17, default `ai.onnx` domain only — no
 *   `com.microsoft` ops, which onnxruntime-web's WebGPU EP lacks; fp32 throughout).
 * - Input `pixel_values`: float32 [1, 3, S, S], S = `manifest.hypernet.imageSize` (64 in the tiny
 *   pack), NCHW, RGB, the square face crop resampled to S×S, each channel normalized as
 *   `(rgb / 255 − mean[c]) / std[c]` with `manifest.hypernet.normalize` (the tiny pack uses
 *   CLIP's mean [0.48145466, 0.4578275, 0.40821073], std [0.26862954, 0.26130258, 0.27577711]).
 *   `toPixelValues(crop, manifest.hypernet.normalize)` in src/face/crop.ts makes exactly this.
 *   The batch is fixed at 1.
 * - Output `lidb_down`: float32 [L, aMax]; output `lidb_up`: float32 [L, bMax]. L is the number of
 *   `manifest.lora.layers` and row i belongs to `manifest.lora.layers[i]` (that order: UNet layers,
 *   then text-encoder layers, each in graph order). aMax / bMax are `manifest.lidb.aMax` /
 *   `bMax`, the largest a / b over the layers (SD1.5: 100 / 50).
 *   Row i of `lidb_down` holds the layer's D_train [a_i, 1] in its first a_i entries and exactly
 *   0 after them; row i of `lidb_up` holds U_train [1, b_i] in its first b_i entries and exactly
 *   0 after them (a_i, b_i from the layer's manifest entry). With the pack's frozen aux bases
 *   (`manifest.lidb.aux`: D_aux [nIn, a], U_aux [b, nOut]) the layer's weight change is
 *   ΔW = D_aux·D_train·U_train·U_aux in the ONNX orientation y = x·W, W [nIn, nOut]
 *   (`lidbFromRows` + `lidbToSlots` in src/lidb compute it; the kohya/PEFT orientation is the
 *   transpose).
 *
 * To export a PyTorch hypernetwork to this contract: let `forward(pixel_values)` return
 * `(down, up)` shaped [L, aMax] and [L, bMax] in the manifest's layer order, multiply each by a
 * constant 0/1 mask buffer so the padding is exactly zero, write the s refinement iterations as a
 * plain Python loop (the export unrolls it), and call
 * `torch.onnx.export(model, torch.zeros(1, 3, S, S), "model.onnx", input_names=["pixel_values"],
 * output_names=["lidb_down", "lidb_up"], opset_version=17)`. Any standard op the WebGPU EP
 * implements is fine (this builder uses Conv, MatMul, Add, Sub, Mul, Div, Pow, Sqrt, ReduceMean,
 * Erf, Softmax, Reshape, Transpose, Concat, Identity; torch's LayerNormalization at opset 17 is
 * fine too).
 *
 * ## This graph (random weights until a later issue trains them)
 *
 * ViT encoder, CLIP-vision module names (`vision_model.embeddings.patch_embedding` Conv with
 * stride = patch, `class_embedding`, `position_embedding`, pre-LN layers
 * `vision_model.encoder.layers.i` with GELU MLPs, `vision_model.post_layernorm` on every token)
 * → features f [1, N+1, width], computed once. A transformer decoder with one learned token per
 * LiDB layer (`decoder.layer_tokens`) then refines θ̂ = (down, up), θ̂₀ = 0, for s steps unrolled
 * in the graph: tokens + `decoder.weight_embed`(θ̂ₖ₋₁) → `decoder.layers.j` (self-attention
 * across layer tokens, cross-attention to f, MLP; the same weights every step) →
 * `decoder.norm` → `heads.down` / `heads.up` give Δ, and θ̂ₖ = θ̂ₖ₋₁ + mask·Δ. Masking each Δ
 * keeps the padding zero in the θ̂ the next step embeds, not only in the outputs.
 */
import { GraphBuilder } from '../onnx';
import { auxDims, type LidbLayerSpec } from '../lidb/layers';
import type { TypedArray } from '../onnx/dtype';
import { HYPERNET_IO } from '../packs/graphIO';
import { WeightInit } from './init';
import { Net, attentionCore, conv2d, geluErf, layerNorm, linear, toTokens } from './layers';

/** CLIP's image normalization: the mean/std the ViT encoders HyperDreamBooth re-implementations start from were trained with. */
export const CLIP_NORMALIZE = {
  mean: [0.48145466, 0.4578275, 0.40821073] as [number, number, number],
  std: [0.26862954, 0.26130258, 0.27577711] as [number, number, number],
};

export interface HypernetConfig {
  imageSize: number;
  patchSize: number;
  width: number;
  heads: number;
  /** MLP hidden width (encoder and decoder) */
  intermediateSize: number;
  encoderLayers: number;
  decoderLayers: number;
  /** s: refinement iterations unrolled in the graph */
  refinementSteps: number;
  layerNormEps: number;
}

export interface BuiltHypernet {
  builder: GraphBuilder;
  /** the row widths of lidb_down / lidb_up */
  aMax: number;
  bMax: number;
}

/**
 * One module path, one set of weights: a module applied again (the decoder in every refinement
 * step) reuses its initializers, as torch.onnx exports a module called in a loop; its nodes get
 * the exporter's `_1`, `_2` … suffixes.
 */
class SharedWeightBuilder extends GraphBuilder {
  private readonly byPath = new Map<string, { name: string; dims: number[] }>();

  override param(leaf: string, data: TypedArray, dims: number[]): string {
    const key = this.modulePath ? `${this.modulePath}.${leaf}` : leaf;
    const seen = this.byPath.get(key);
    if (seen) {
      if (seen.dims.join() !== dims.join()) throw new Error(`${key} reused as [${dims}], created as [${seen.dims}]`);
      return seen.name;
    }
    const name = super.param(leaf, data, dims);
    this.byPath.set(key, { name, dims: [...dims] });
    return name;
  }
}

/** Pre-LN multi-head attention with q from `x`, k and v from `context` (= x for self-attention). */
function attention(n: Net, name: string, x: string, context: string, width: number, heads: number): string {
  return n.scope(name, () => {
    const q = linear(n, 'q_proj', x, width, width);
    const k = linear(n, 'k_proj', context, width, width);
    const v = linear(n, 'v_proj', context, width, width);
    return linear(n, 'out_proj', attentionCore(n, q, k, v, heads, width / heads), width, width);
  });
}

function mlp(n: Net, x: string, cfg: HypernetConfig): string {
  return n.scope('mlp', () => linear(n, 'fc2', geluErf(n, linear(n, 'fc1', x, cfg.width, cfg.intermediateSize)), cfg.intermediateSize, cfg.width));
}

/**
 * A linear head whose weights have std `std / √nIn`, so on a layer-normed input every output has
 * std ≈ `std`; zero bias, so the untrained prediction is centred on zero and depends on the image.
 */
function head(n: Net, name: string, x: string, nIn: number, nOut: number, std: number): string {
  const { b, init } = n;
  return n.scope(name, () => {
    const w = b.param('weight', init.normal(nIn * nOut, std / Math.sqrt(nIn)), [nIn, nOut]);
    return b.op1('Add', [b.op1('MatMul', [x, w]), b.param('bias', init.zeros(nOut), [nOut])]);
  });
}

/** 1 where a row entry belongs to its layer (j < a_i), 0 in the padding; [1, L, width]. */
function rowMask(widths: number[], width: number): Float32Array {
  const m = new Float32Array(widths.length * width);
  widths.forEach((w, i) => m.fill(1, i * width, i * width + w));
  return m;
}

/**
 * Output scales of the untrained network (summed over the s steps): D_train entries near
 * xavier-normal for a [aMax → 1] map, √(2/(aMax+1)), as a fresh LiDB starts; U_train entries
 * 1e-2, so the predicted ΔW is small but clearly non-zero.
 */
const UP_STD = 1e-2;

export function buildHypernet(cfg: HypernetConfig, layers: readonly LidbLayerSpec[], opts: { seed: number }): BuiltHypernet {
  const D = cfg.width;
  if (D % cfg.heads !== 0) throw new Error(`width ${D} does not split into ${cfg.heads} heads`);
  if (cfg.imageSize % cfg.patchSize !== 0) throw new Error(`image size ${cfg.imageSize} is not a multiple of the patch ${cfg.patchSize}`);
  if (layers.length === 0) throw new Error('the hypernetwork needs at least one LiDB layer');
  const dims = layers.map(auxDims);
  const aMax = Math.max(...dims.map((d) => d.a));
  const bMax = Math.max(...dims.map((d) => d.b));
  const L = layers.length;
  const S = cfg.imageSize;
  const grid = S / cfg.patchSize;
  const tokens = grid * grid + 1;

  const b = new SharedWeightBuilder('hypernet');
  const n = new Net(b, new WeightInit(opts.seed), false);
  const { init } = n;
  const pixels = b.input(HYPERNET_IO.input, 'float32', [1, 3, S, S]);
  const eps = cfg.layerNormEps;

  const features = n.scope('vision_model', () => {
    let h = n.scope('embeddings', () => {
      const patches = toTokens(n, conv2d(n, 'patch_embedding', pixels, 3, D, { kernel: cfg.patchSize, stride: cfg.patchSize, pads: [0, 0, 0, 0] }), D);
      const cls = b.param('class_embedding', init.normal(D, 1), [1, 1, D]);
      const pos = n.scope('position_embedding', () => b.param('weight', init.normal(tokens * D, 0.5), [tokens, D]));
      return b.op1('Add', [b.op1('Concat', [cls, patches], { axis: 1 }), pos]);
    });
    n.scope('encoder', () => {
      for (let i = 0; i < cfg.encoderLayers; i++) {
        n.scope(`layers.${i}`, () => {
          const x = layerNorm(n, 'layer_norm1', h, D, eps);
          h = b.op1('Add', [h, attention(n, 'self_attn', x, x, D, cfg.heads)]);
          h = b.op1('Add', [h, mlp(n, layerNorm(n, 'layer_norm2', h, D, eps), cfg)]);
        });
      }
    });
    return layerNorm(n, 'post_layernorm', h, D, eps);
  });

  const maskDown = b.constant(rowMask(dims.map((d) => d.a), aMax), [1, L, aMax]);
  const maskUp = b.constant(rowMask(dims.map((d) => d.b), bMax), [1, L, bMax]);
  let down = b.constant(new Float32Array(L * aMax), [1, L, aMax]);
  let up = b.constant(new Float32Array(L * bMax), [1, L, bMax]);
  const downStd = Math.sqrt(2 / (aMax + 1)) / cfg.refinementSteps;
  const upStd = UP_STD / cfg.refinementSteps;

  for (let step = 0; step < cfg.refinementSteps; step++) {
    const state = n.scope('decoder', () => {
      const layerTokens = b.param('layer_tokens', init.normal(L * D, 1), [1, L, D]);
      const theta = b.op1('Concat', [down, up], { axis: -1 });
      let h = b.op1('Add', [layerTokens, linear(n, 'weight_embed', theta, aMax + bMax, D)]);
      for (let j = 0; j < cfg.decoderLayers; j++) {
        n.scope(`layers.${j}`, () => {
          const x1 = layerNorm(n, 'norm1', h, D, eps);
          h = b.op1('Add', [h, attention(n, 'self_attn', x1, x1, D, cfg.heads)]);
          h = b.op1('Add', [h, attention(n, 'cross_attn', layerNorm(n, 'norm2', h, D, eps), features, D, cfg.heads)]);
          h = b.op1('Add', [h, mlp(n, layerNorm(n, 'norm3', h, D, eps), cfg)]);
        });
      }
      return layerNorm(n, 'norm', h, D, eps);
    });
    n.scope('heads', () => {
      down = b.op1('Add', [down, b.op1('Mul', [head(n, 'down', state, D, aMax, downStd), maskDown])]);
      up = b.op1('Add', [up, b.op1('Mul', [head(n, 'up', state, D, bMax, upStd), maskUp])]);
    });
  }

  b.output(b.op1('Reshape', [down, b.ints([L, aMax])]), HYPERNET_IO.down, 'float32', [L, aMax]);
  b.output(b.op1('Reshape', [up, b.ints([L, bMax])]), HYPERNET_IO.up, 'float32', [L, bMax]);
  return { builder: b, aMax, bMax };
}

/** The tiny pack's hypernetwork: a 64×64 crop in 8×8 patches, width 64, 4 heads, 2 + 2 layers, s = 4. */
export const TINY_HYPERNET: HypernetConfig = {
  imageSize: 64,
  patchSize: 8,
  width: 64,
  heads: 4,
  intermediateSize: 128,
  encoderLayers: 2,
  decoderLayers: 2,
  refinementSteps: 4,
  layerNormEps: 1e-5,
};
