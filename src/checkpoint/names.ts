// The original Stable Diffusion names (CompVis ldm: openaimodel's input_blocks / middle_block /
// output_blocks, the first-stage Encoder/Decoder's down / mid / up) mapped onto the diffusers
// module paths the project's builders name their parameters by. The block arithmetic follows
// openaimodel: input block 0 is conv_in, then per level `layers` entries [ResBlock, (Transformer)]
// and, except on the last level, one Downsample; the output blocks hold `layers + 1` entries
// per level, the last with the Upsample (at position 1, or 2 after a Transformer).

const RESNET_UNET: Record<string, string> = {
  'in_layers.0': 'norm1', 'in_layers.2': 'conv1', 'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2', 'out_layers.3': 'conv2', skip_connection: 'conv_shortcut',
};

function mapResnet(rest: string): string | null {
  for (const [from, to] of Object.entries(RESNET_UNET)) {
    if (rest.startsWith(`${from}.`)) return `${to}${rest.slice(from.length)}`;
  }
  return null;
}

/**
 * Layers per level of an openaimodel UNet from its input-block keys (CompVis names without the
 * `model.diffusion_model.` prefix): the first input block that is a Downsample (`N.0.op`) sits at
 * index layers + 1. Null when there is no downsampler (a single-level UNet).
 */
export function unetLayersPerBlock(keys: Iterable<string>): number | null {
  let first = Infinity;
  for (const k of keys) {
    const m = /^input_blocks\.(\d+)\.0\.op\./.exec(k);
    if (m) first = Math.min(first, Number(m[1]));
  }
  return Number.isFinite(first) ? first - 1 : null;
}

/** diffusers name of one CompVis UNet key, or null when the key is not one of SD1.x's. */
export function unetDiffusersName(key: string, layers: number): string | null {
  const leaf = (prefix: string, to: string) => (key.startsWith(prefix) ? to + key.slice(prefix.length) : null);
  const simple = leaf('time_embed.0.', 'time_embedding.linear_1.') ?? leaf('time_embed.2.', 'time_embedding.linear_2.')
    ?? leaf('out.0.', 'conv_norm_out.') ?? leaf('out.2.', 'conv_out.') ?? leaf('input_blocks.0.0.', 'conv_in.');
  if (simple) return simple;
  const p = key.split('.');
  const rest = (from: number) => p.slice(from).join('.');
  if (p[0] === 'input_blocks') {
    const [level, j] = [Math.floor((Number(p[1]) - 1) / (layers + 1)), (Number(p[1]) - 1) % (layers + 1)];
    if (j === layers) return p[2] === '0' && p[3] === 'op' ? `down_blocks.${level}.downsamplers.0.conv.${rest(4)}` : null;
    if (p[2] === '0') { const r = mapResnet(rest(3)); return r && `down_blocks.${level}.resnets.${j}.${r}`; }
    if (p[2] === '1') return `down_blocks.${level}.attentions.${j}.${rest(3)}`;
    return null;
  }
  if (p[0] === 'middle_block') {
    if (p[1] === '1') return `mid_block.attentions.0.${rest(2)}`;
    if (p[1] === '0' || p[1] === '2') { const r = mapResnet(rest(2)); return r && `mid_block.resnets.${p[1] === '0' ? 0 : 1}.${r}`; }
    return null;
  }
  if (p[0] === 'output_blocks') {
    const [level, j] = [Math.floor(Number(p[1]) / (layers + 1)), Number(p[1]) % (layers + 1)];
    if (p[2] === '0') { const r = mapResnet(rest(3)); return r && `up_blocks.${level}.resnets.${j}.${r}`; }
    if (p[3] === 'conv' && (p[2] === '1' || p[2] === '2')) return j === layers ? `up_blocks.${level}.upsamplers.0.conv.${rest(4)}` : null;
    if (p[2] === '1') return `up_blocks.${level}.attentions.${j}.${rest(3)}`;
    return null;
  }
  return null;
}

const VAE_ATTENTION: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };
const VAE_RESNET: Record<string, string> = { norm1: 'norm1', conv1: 'conv1', norm2: 'norm2', conv2: 'conv2', nin_shortcut: 'conv_shortcut' };

/** Levels of the first-stage encoder (`encoder.down.N`), which the decoder's up blocks mirror. */
export function vaeLevels(keys: Iterable<string>): number {
  let n = 0;
  for (const k of keys) {
    const m = /^encoder\.down\.(\d+)\./.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** diffusers name of one CompVis first-stage key (without `first_stage_model.`), or null. */
export function vaeDiffusersName(key: string, levels: number): string | null {
  const p = key.split('.');
  const param = p[p.length - 1];
  if (p.length === 2 && (p[0] === 'quant_conv' || p[0] === 'post_quant_conv')) return key;
  const side = p[0];
  if (side !== 'encoder' && side !== 'decoder') return null;
  if (p.length === 3 && (p[1] === 'conv_in' || p[1] === 'conv_out')) return key;
  if (p.length === 3 && p[1] === 'norm_out') return `${side}.conv_norm_out.${param}`;
  if (p[1] === 'mid' && p.length === 5) {
    if (p[2] === 'attn_1') return VAE_ATTENTION[p[3]] ? `${side}.mid_block.attentions.0.${VAE_ATTENTION[p[3]]}.${param}` : null;
    if ((p[2] === 'block_1' || p[2] === 'block_2') && VAE_RESNET[p[3]]) return `${side}.mid_block.resnets.${p[2] === 'block_1' ? 0 : 1}.${VAE_RESNET[p[3]]}.${param}`;
    return null;
  }
  const level = Number(p[2]);
  if (!Number.isInteger(level) || level >= levels) return null;
  if (side === 'encoder' && p[1] === 'down') {
    if (p[3] === 'downsample' && p[4] === 'conv' && p.length === 6) return `encoder.down_blocks.${level}.downsamplers.0.conv.${param}`;
    if (p[3] === 'block' && p.length === 7 && VAE_RESNET[p[5]]) return `encoder.down_blocks.${level}.resnets.${p[4]}.${VAE_RESNET[p[5]]}.${param}`;
    return null;
  }
  if (side === 'decoder' && p[1] === 'up') {
    // the decoder's up.N counts from the highest resolution; diffusers' up_blocks from the lowest
    const up = levels - 1 - level;
    if (p[3] === 'upsample' && p[4] === 'conv' && p.length === 6) return `decoder.up_blocks.${up}.upsamplers.0.conv.${param}`;
    if (p[3] === 'block' && p.length === 7 && VAE_RESNET[p[5]]) return `decoder.up_blocks.${up}.resnets.${p[4]}.${VAE_RESNET[p[5]]}.${param}`;
    return null;
  }
  return null;
}

/** Older diffusers VAEs name the mid-block attention query/key/value/proj_attn. */
const OLD_DIFFUSERS_VAE_ATTENTION: Record<string, string> = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' };

export function diffusersVaeName(key: string): string {
  const m = /^(.*\.attentions\.0\.)(query|key|value|proj_attn)\.(weight|bias)$/.exec(key);
  return m ? `${m[1]}${OLD_DIFFUSERS_VAE_ATTENTION[m[2]]}.${m[3]}` : key;
}
