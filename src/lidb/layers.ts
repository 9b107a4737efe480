// Which layers carry a LiDB and how wide its aux bases are.
import type { LoraLayer } from '../packs/manifest';

/** Paper values: D_aux has a = 100 columns, U_aux b = 50 rows (HyperDreamBooth §3). */
export const LIDB_A = 100;
export const LIDB_B = 50;

/**
 * A LoRA layer of the pack, optionally with its aux widths as the manifest records them. Without
 * them the rule applies: a = min(100, nIn), b = min(50, nOut) — a basis cannot have more
 * orthonormal columns than its length, so narrow tiny-pack layers get narrower bases.
 */
export interface LidbLayerSpec extends LoraLayer {
  a?: number;
  b?: number;
}

export function auxDims(layer: LidbLayerSpec): { a: number; b: number } {
  const a = layer.a ?? Math.min(LIDB_A, layer.nIn);
  const b = layer.b ?? Math.min(LIDB_B, layer.nOut);
  if (!Number.isInteger(a) || a < 1 || a > layer.nIn) throw new RangeError(`layer ${layer.name}: a = ${a} must be in [1, n_in = ${layer.nIn}]`);
  if (!Number.isInteger(b) || b < 1 || b > layer.nOut) throw new RangeError(`layer ${layer.name}: b = ${b} must be in [1, n_out = ${layer.nOut}]`);
  return { a, b };
}

/**
 * Stable Diffusion 1.5's 176 LiDB layers: q, k, v, out of both attentions in its 16 UNet
 * transformer blocks (128) and of the 12 CLIP text-encoder layers (48), with diffusers names.
 */
export function sd15LoraLayers(): LoraLayer[] {
  const layers: LoraLayer[] = [];
  const block = (prefix: string, c: number) => {
    for (const attn of ['attn1', 'attn2']) {
      const kvIn = attn === 'attn2' ? 768 : c; // cross-attention keys/values read the text
      for (const [proj, nIn] of [['to_q', c], ['to_k', kvIn], ['to_v', kvIn], ['to_out.0', c]] as const) {
        layers.push({ name: `${prefix}.transformer_blocks.0.${attn}.${proj}`, target: 'unet', nIn, nOut: c });
      }
    }
  };
  const widths = [320, 640, 1280];
  widths.forEach((c, i) => { for (let j = 0; j < 2; j++) block(`down_blocks.${i}.attentions.${j}`, c); });
  block('mid_block.attentions.0', 1280);
  [1280, 640, 320].forEach((c, i) => { for (let j = 0; j < 3; j++) block(`up_blocks.${i + 1}.attentions.${j}`, c); });
  for (let l = 0; l < 12; l++) {
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      layers.push({ name: `text_model.encoder.layers.${l}.self_attn.${proj}`, target: 'text_encoder', nIn: 768, nOut: 768 });
    }
  }
  return layers;
}
