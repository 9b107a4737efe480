// The VAE encoder's output as the latent the UNet works on.
import { IO } from '../packs/graphIO';
import type { PackManifest } from '../packs/manifest';
import type { Session } from '../runtime/types';

/** VAE mean × latent scale of one image given as planar RGB in [-1, 1] at the pack's image size. */
export async function encodeToLatent(vaeEncoder: Session, manifest: PackManifest, chw: Float32Array): Promise<Float32Array> {
  const { width, height } = manifest.image;
  const out = await vaeEncoder.run({ [IO.vaeEncoder.input]: { type: 'float32', dims: [1, 3, height, width], data: chw } }, [IO.vaeEncoder.output]);
  // moments = mean ‖ logvar on channels: the first `channels` planes are the mean
  const { channels, height: lh, width: lw } = manifest.latent;
  return (out[IO.vaeEncoder.output].data as Float32Array).slice(0, channels * lh * lw).map((v) => v * manifest.latent.scale);
}
