// A start-up probe: one layer shaped like the pack's UNet (a 3×3 convolution at the latent's
// size and the first block's width, then a token-wise matmul as in attention), timed on each
// backend, so the app keeps the faster one. Sized from the manifest, so a big pack is not
// judged by a toy graph that WASM wins on dispatch overhead alone.
import { GraphBuilder, encodeModel } from '../onnx';
import type { PackManifest } from '../packs/manifest';
import type { Runtime } from './types';

export interface ProbeShape {
  channels: number;
  height: number;
  width: number;
}

const DEFAULT_CHANNELS = 320;
const MAX_CHANNELS = 640;

/** The probe's size: the latent's height and width, and the UNet's first LoRA layer's input width. */
export function probeShapeOf(m: Pick<PackManifest, 'latent' | 'lora'>): ProbeShape {
  const first = m.lora.layers.find((l) => l.target === 'unet');
  const channels = Math.min(MAX_CHANNELS, Math.max(4, first?.nIn ?? DEFAULT_CHANNELS));
  return { channels, height: m.latent.height, width: m.latent.width };
}

/** Deterministic small weights: the values do not matter, only the work. */
function weights(n: number, scale: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = Math.sin(i * 12.9898) * scale;
  return w;
}

/** x [1, C, H, W] → conv 3×3 → as tokens [1, H·W, C] → matmul [C, C] → y. */
export function buildProbeModel({ channels: c, height: h, width: w }: ProbeShape): Uint8Array {
  const g = new GraphBuilder('backend_probe');
  const x = g.input('x', 'float32', [1, c, h, w]);
  const conv = g.op1('Conv', [x, g.param('conv.weight', weights(c * c * 9, 0.05), [c, c, 3, 3]), g.param('conv.bias', weights(c, 0.01), [c])], {
    kernel_shape: [3, 3],
    pads: [1, 1, 1, 1],
  });
  const tokens = g.op1('Transpose', [g.op1('Reshape', [conv, g.ints([1, c, h * w])])], { perm: [0, 2, 1] });
  const y = g.op1('MatMul', [tokens, g.param('proj.weight', weights(c * c, 0.05), [c, c])]);
  g.output(y, 'y', 'float32', [1, h * w, c]);
  return encodeModel(g.toModel());
}

/**
 * Median milliseconds of `runs` runs after `warmups` untimed ones (the first WebGPU run
 * compiles its shaders). Throws what the runtime throws, so a backend that cannot run the
 * probe is known before any pack graph is opened on it.
 */
export async function timeProbe(runtime: Runtime, model: Uint8Array, shape: ProbeShape, opts: { warmups?: number; runs?: number } = {}): Promise<number> {
  const session = await runtime.createSession({ name: 'backend probe', model });
  try {
    const feeds = { x: { type: 'float32' as const, dims: [1, shape.channels, shape.height, shape.width], data: weights(shape.channels * shape.height * shape.width, 1) } };
    for (let i = 0; i < (opts.warmups ?? 1); i++) await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < (opts.runs ?? 3); i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    await session.release();
  }
}
