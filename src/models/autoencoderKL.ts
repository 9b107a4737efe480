// AutoencoderKL in miniature (diffusers' Encoder/Decoder module names). The encoder graph ends
// in quant_conv and outputs the DiagonalGaussian moments [mean, logvar] stacked on channels;
// the decoder graph starts at post_quant_conv. Scaling by 0.18215 and clamping stay in the pipeline.
import { GraphBuilder } from '../onnx';
import { WeightInit } from './init';
import { Net, attentionCore, conv2d, fromTokens, groupNorm, linear, silu, toTokens, upsampleNearest2x, type WeightSource } from './layers';
import type { BuiltGraph } from './clipTextModel';

export interface VaeConfig {
  imageSize: number;
  imageChannels: number;
  latentChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  normGroups: number;
  eps: number;
}

function resnetBlock(n: Net, cfg: VaeConfig, name: string, x: string, cin: number, cout: number): string {
  const { b } = n;
  return n.scope(name, () => {
    let h = conv2d(n, 'conv1', silu(n, groupNorm(n, 'norm1', x, cin, cfg.normGroups, cfg.eps)), cin, cout);
    h = conv2d(n, 'conv2', silu(n, groupNorm(n, 'norm2', h, cout, cfg.normGroups, cfg.eps)), cout, cout);
    const shortcut = cin === cout ? x : conv2d(n, 'conv_shortcut', x, cin, cout, { kernel: 1 });
    return b.op1('Add', [shortcut, h]);
  });
}

/** The VAE mid-block's single-head spatial self-attention with its own GroupNorm and a residual. */
function spatialAttention(n: Net, cfg: VaeConfig, name: string, x: string, channels: number, size: number): string {
  const { b } = n;
  return n.scope(name, () => {
    const h = toTokens(n, groupNorm(n, 'group_norm', x, channels, cfg.normGroups, cfg.eps), channels);
    const q = linear(n, 'to_q', h, channels, channels);
    const k = linear(n, 'to_k', h, channels, channels);
    const v = linear(n, 'to_v', h, channels, channels);
    const o = linear(n, 'to_out.0', attentionCore(n, q, k, v, 1, channels), channels, channels);
    return b.op1('Add', [fromTokens(n, o, channels, size, size), x]);
  });
}

function midBlock(n: Net, cfg: VaeConfig, x: string, channels: number, size: number): string {
  return n.scope('mid_block', () => {
    let h = resnetBlock(n, cfg, 'resnets.0', x, channels, channels);
    h = spatialAttention(n, cfg, 'attentions.0', h, channels, size);
    return resnetBlock(n, cfg, 'resnets.1', h, channels, channels);
  });
}

export function buildVaeEncoder(cfg: VaeConfig, opts: { seed: number; weights?: WeightSource }): BuiltGraph {
  const b = new GraphBuilder('vae_encoder');
  const n = new Net(b, new WeightInit(opts.seed), false, opts.weights);
  const ch = cfg.blockOutChannels;
  const sample = b.input('sample', 'float32', ['batch', cfg.imageChannels, cfg.imageSize, cfg.imageSize]);
  let size = cfg.imageSize;
  const moments = n.scope('encoder', () => {
    let h = conv2d(n, 'conv_in', sample, cfg.imageChannels, ch[0]);
    ch.forEach((out, i) => {
      n.scope(`down_blocks.${i}`, () => {
        let cin = i === 0 ? ch[0] : ch[i - 1];
        for (let j = 0; j < cfg.layersPerBlock; j++) {
          h = resnetBlock(n, cfg, `resnets.${j}`, h, cin, out);
          cin = out;
        }
        if (i < ch.length - 1) {
          // diffusers pads (0, 1, 0, 1) then convolves with stride 2 and no padding
          h = n.scope('downsamplers.0', () => conv2d(n, 'conv', h, out, out, { stride: 2, pads: [0, 0, 1, 1] }));
          size /= 2;
        }
      });
    });
    const top = ch[ch.length - 1];
    h = midBlock(n, cfg, h, top, size);
    h = silu(n, groupNorm(n, 'conv_norm_out', h, top, cfg.normGroups, cfg.eps));
    return conv2d(n, 'conv_out', h, top, 2 * cfg.latentChannels);
  });
  const params = conv2d(n, 'quant_conv', moments, 2 * cfg.latentChannels, 2 * cfg.latentChannels, { kernel: 1 });
  b.output(params, 'latent_parameters', 'float32', ['batch', 2 * cfg.latentChannels, size, size]);
  return { builder: b, slots: [] };
}

export function buildVaeDecoder(cfg: VaeConfig, opts: { seed: number; weights?: WeightSource }): BuiltGraph {
  const b = new GraphBuilder('vae_decoder');
  const n = new Net(b, new WeightInit(opts.seed), false, opts.weights);
  const rev = [...cfg.blockOutChannels].reverse();
  let size = cfg.imageSize / 2 ** (rev.length - 1);
  const latent = b.input('latent_sample', 'float32', ['batch', cfg.latentChannels, size, size]);
  const z = conv2d(n, 'post_quant_conv', latent, cfg.latentChannels, cfg.latentChannels, { kernel: 1 });
  const image = n.scope('decoder', () => {
    let h = conv2d(n, 'conv_in', z, cfg.latentChannels, rev[0]);
    h = midBlock(n, cfg, h, rev[0], size);
    let prev = rev[0];
    rev.forEach((out, i) => {
      n.scope(`up_blocks.${i}`, () => {
        for (let j = 0; j <= cfg.layersPerBlock; j++) {
          h = resnetBlock(n, cfg, `resnets.${j}`, h, j === 0 ? prev : out, out);
        }
        if (i < rev.length - 1) {
          h = n.scope('upsamplers.0', () => conv2d(n, 'conv', upsampleNearest2x(n, h), out, out));
          size *= 2;
        }
      });
      prev = out;
    });
    const last = rev[rev.length - 1];
    h = silu(n, groupNorm(n, 'conv_norm_out', h, last, cfg.normGroups, cfg.eps));
    return conv2d(n, 'conv_out', h, last, cfg.imageChannels);
  });
  b.output(image, 'sample', 'float32', ['batch', cfg.imageChannels, cfg.imageSize, cfg.imageSize]);
  return { builder: b, slots: [] };
}
