// The UNet's `timestep` input in the dtype and shape its exporter chose (manifest.unet):
// diffusers' own export takes float32 [B], other exporters int64 or a scalar.
import { toHalf } from '../onnx/float16';
import type { PackManifest } from '../packs/manifest';
import type { Tensor } from '../runtime/types';

export function timestepTensor(spec: PackManifest['unet'], t: number, batch: number): Tensor {
  const dims = spec.timestepShape === 'batch' ? [batch] : [];
  const n = spec.timestepShape === 'batch' ? batch : 1;
  switch (spec.timestepDtype) {
    case 'float32': return { type: 'float32', dims, data: new Float32Array(n).fill(t) };
    case 'float16': return { type: 'float16', dims, data: new Uint16Array(n).fill(toHalf(t)) };
    // Euler's timesteps are interpolated floats; an integer-timestep graph takes the nearest one.
    case 'int64': return { type: 'int64', dims, data: new BigInt64Array(n).fill(BigInt(Math.round(t))) };
    default: throw new Error(`unsupported UNet timestep dtype ${String(spec.timestepDtype)}`);
  }
}
