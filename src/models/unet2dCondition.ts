// UNet2DConditionModel in miniature, with diffusers' module names: sinusoidal time embedding,
// CrossAttnDownBlock2D / UNetMidBlock2DCrossAttn / CrossAttnUpBlock2D built from ResnetBlock2D
// and Transformer2DModel (self-attention, cross-attention on the text, GEGLU feed-forward).
import { GraphBuilder } from '../onnx';
import { WeightInit } from './init';
import {
  Net, attentionCore, conv2d, fromTokens, geluErf, gemm, groupNorm, layerNorm, linear, silu, toTokens, upsampleNearest2x,
} from './layers';
import type { BuildOptions, BuiltGraph } from './clipTextModel';

export interface UNetConfig {
  sampleSize: number;
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  crossAttentionDim: number;
  textLength: number;
  /** per-head width, when the head count follows the width (the tiny pack) */
  attentionHeadDim: number;
  /** a fixed head count instead (SD1.x: 8 at every width); the head width is then channels / heads */
  attentionHeads?: number;
  /** which levels (down order; up blocks mirror them) have cross-attention transformers; default all (SD1.5: all but the last) */
  crossAttentionLevels?: boolean[];
  normGroups: number;
  /** ResnetBlock2D GroupNorm epsilon */
  resnetEps: number;
  /** Transformer2DModel GroupNorm epsilon */
  transformerNormEps: number;
  layerNormEps: number;
}

interface Ctx { n: Net; cfg: UNetConfig; temb: string; text: string; timeEmbedDim: number }

function resnetBlock(c: Ctx, name: string, x: string, cin: number, cout: number): string {
  const { n, cfg } = c;
  const { b } = n;
  return n.scope(name, () => {
    let h = silu(n, groupNorm(n, 'norm1', x, cin, cfg.normGroups, cfg.resnetEps));
    h = conv2d(n, 'conv1', h, cin, cout);
    const t = gemm(n, 'time_emb_proj', silu(n, c.temb), c.timeEmbedDim, cout);
    h = b.op1('Add', [h, b.op1('Unsqueeze', [t, b.ints([2, 3])])]);
    h = silu(n, groupNorm(n, 'norm2', h, cout, cfg.normGroups, cfg.resnetEps));
    h = conv2d(n, 'conv2', h, cout, cout);
    const shortcut = cin === cout ? x : conv2d(n, 'conv_shortcut', x, cin, cout, { kernel: 1 });
    return b.op1('Add', [shortcut, h]);
  });
}

function attention(c: Ctx, name: string, x: string, dim: number, context: string | null): string {
  const { n, cfg } = c;
  const heads = cfg.attentionHeads ?? dim / cfg.attentionHeadDim;
  const headDim = dim / heads;
  const kvDim = context ? cfg.crossAttentionDim : dim;
  const kvIn = context ?? x;
  return n.scope(name, () => {
    const q = linear(n, 'to_q', x, dim, dim, { bias: false, lora: true });
    const k = linear(n, 'to_k', kvIn, kvDim, dim, { bias: false, lora: true });
    const v = linear(n, 'to_v', kvIn, kvDim, dim, { bias: false, lora: true });
    return linear(n, 'to_out.0', attentionCore(n, q, k, v, heads, headDim), dim, dim, { lora: true });
  });
}

function basicTransformerBlock(c: Ctx, name: string, x: string, dim: number): string {
  const { n, cfg } = c;
  const { b } = n;
  return n.scope(name, () => {
    let h = b.op1('Add', [attention(c, 'attn1', layerNorm(n, 'norm1', x, dim, cfg.layerNormEps), dim, null), x]);
    h = b.op1('Add', [attention(c, 'attn2', layerNorm(n, 'norm2', h, dim, cfg.layerNormEps), dim, c.text), h]);
    const normed = layerNorm(n, 'norm3', h, dim, cfg.layerNormEps);
    const inner = 4 * dim;
    const ff = n.scope('ff', () => {
      // GEGLU: one projection to [hidden, gate], hidden · gelu(gate)
      const geglu = n.scope('net.0', () => {
        const proj = linear(n, 'proj', normed, dim, 2 * inner);
        const [hidden, gate] = b.op('Split', [proj, b.ints([inner, inner])], { axis: -1 }, { outputs: 2 });
        return b.op1('Mul', [hidden, geluErf(n, gate)]);
      });
      return linear(n, 'net.2', geglu, inner, dim);
    });
    return b.op1('Add', [ff, h]);
  });
}

function transformer2d(c: Ctx, name: string, x: string, channels: number, size: number): string {
  const { n, cfg } = c;
  const { b } = n;
  return n.scope(name, () => {
    let h = groupNorm(n, 'norm', x, channels, cfg.normGroups, cfg.transformerNormEps);
    h = toTokens(n, conv2d(n, 'proj_in', h, channels, channels, { kernel: 1 }), channels);
    h = basicTransformerBlock(c, 'transformer_blocks.0', h, channels);
    h = conv2d(n, 'proj_out', fromTokens(n, h, channels, size, size), channels, channels, { kernel: 1 });
    return b.op1('Add', [h, x]);
  });
}

/** Timesteps(flip_sin_to_cos=True, downscale_freq_shift=0): [cos(t·f), sin(t·f)], f_i = 10000^(-i/half). */
function timeProjection(n: Net, t: string, dim: number): string {
  const { b } = n;
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
  return n.scope('time_proj', () => {
    const args = b.op1('Mul', [b.op1('Unsqueeze', [t, b.ints([1])]), b.constant(freqs, [1, half])]);
    return b.op1('Concat', [b.op1('Cos', [args]), b.op1('Sin', [args])], { axis: -1 });
  });
}

export function buildUNet(cfg: UNetConfig, opts: BuildOptions): BuiltGraph {
  const b = new GraphBuilder('unet');
  const n = new Net(b, new WeightInit(opts.seed), opts.loraSlots ?? true, opts.weights);
  const ch = cfg.blockOutChannels;
  const L = cfg.layersPerBlock;
  const hasAttention = (level: number) => cfg.crossAttentionLevels?.[level] ?? true;
  if (cfg.crossAttentionLevels && cfg.crossAttentionLevels.length !== ch.length) throw new Error(`crossAttentionLevels has ${cfg.crossAttentionLevels.length} entries for ${ch.length} levels`);
  for (const c of ch) {
    const split = cfg.attentionHeads ?? c / cfg.attentionHeadDim;
    if (!Number.isInteger(split) || c % split !== 0) throw new Error(`${c} channels do not split into ${cfg.attentionHeads ? `${cfg.attentionHeads} heads` : `heads of ${cfg.attentionHeadDim}`}`);
  }
  if (cfg.sampleSize % 2 ** (ch.length - 1) !== 0) throw new Error(`sample size ${cfg.sampleSize} cannot be halved ${ch.length - 1} times`);

  const sample = b.input('sample', 'float32', ['batch', cfg.inChannels, cfg.sampleSize, cfg.sampleSize]);
  const timestep = b.input('timestep', 'float32', ['batch']);
  const text = b.input('encoder_hidden_states', 'float32', ['batch', cfg.textLength, cfg.crossAttentionDim]);

  const timeEmbedDim = 4 * ch[0];
  const tproj = timeProjection(n, timestep, ch[0]);
  const temb = n.scope('time_embedding', () => {
    const h = silu(n, gemm(n, 'linear_1', tproj, ch[0], timeEmbedDim));
    return gemm(n, 'linear_2', h, timeEmbedDim, timeEmbedDim);
  });
  const c: Ctx = { n, cfg, temb, text, timeEmbedDim };

  let h = conv2d(n, 'conv_in', sample, cfg.inChannels, ch[0]);
  let size = cfg.sampleSize;
  const skips: { value: string; channels: number }[] = [{ value: h, channels: ch[0] }];

  ch.forEach((out, i) => {
    const isFinal = i === ch.length - 1;
    n.scope(`down_blocks.${i}`, () => {
      let cin = i === 0 ? ch[0] : ch[i - 1];
      for (let j = 0; j < L; j++) {
        h = resnetBlock(c, `resnets.${j}`, h, cin, out);
        if (hasAttention(i)) h = transformer2d(c, `attentions.${j}`, h, out, size);
        skips.push({ value: h, channels: out });
        cin = out;
      }
      if (!isFinal) {
        h = n.scope('downsamplers.0', () => conv2d(n, 'conv', h, out, out, { stride: 2 }));
        size /= 2;
        skips.push({ value: h, channels: out });
      }
    });
  });

  const top = ch[ch.length - 1];
  n.scope('mid_block', () => {
    h = resnetBlock(c, 'resnets.0', h, top, top);
    h = transformer2d(c, 'attentions.0', h, top, size);
    h = resnetBlock(c, 'resnets.1', h, top, top);
  });

  const rev = [...ch].reverse();
  let prev = top;
  rev.forEach((out, i) => {
    const isFinal = i === rev.length - 1;
    n.scope(`up_blocks.${i}`, () => {
      for (let j = 0; j <= L; j++) {
        const skip = skips.pop()!;
        const cin = (j === 0 ? prev : out) + skip.channels;
        const joined = b.op1('Concat', [h, skip.value], { axis: 1 });
        h = resnetBlock(c, `resnets.${j}`, joined, cin, out);
        if (hasAttention(rev.length - 1 - i)) h = transformer2d(c, `attentions.${j}`, h, out, size);
      }
      if (!isFinal) {
        h = n.scope('upsamplers.0', () => conv2d(n, 'conv', upsampleNearest2x(n, h), out, out));
        size *= 2;
      }
    });
    prev = out;
  });
  if (skips.length) throw new Error(`${skips.length} skip connections left over`);

  h = silu(n, groupNorm(n, 'conv_norm_out', h, ch[0], cfg.normGroups, cfg.resnetEps));
  h = conv2d(n, 'conv_out', h, ch[0], cfg.outChannels);
  b.output(h, 'out_sample', 'float32', ['batch', cfg.outChannels, cfg.sampleSize, cfg.sampleSize]);
  return { builder: b, slots: n.slots };
}
