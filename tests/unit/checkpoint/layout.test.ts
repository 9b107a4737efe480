// The benchmark's generated checkpoint layout (tools/bench/lib/sd1Checkpoint.ts) against the
// torch fixture's state_dict: the same keys and shapes at the miniature's widths, so the
// full-size file the benchmark streams to disk is what torch would write at SD1.5's widths.
// And such a streamed file converts.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../../../src/safetensors';
import { SD15_SHAPE, sd1CheckpointTensors, writeRandomCheckpoint, type Sd1Shape } from '../../../tools/bench/lib/sd1Checkpoint';
import { removeTempDirs, tempDir } from '../packer/helpers';
import { F16_FILE, packMini } from './helpers';

afterAll(removeTempDirs);

const MINI: Sd1Shape = {
  unet: { channels: 32, mult: [1, 1], layers: 1, attentionLevels: [0], context: 24, inChannels: 4 },
  vae: { channels: 32, mult: [1, 1], layers: 1, latent: 4 },
  text: { vocab: 1000, positions: 77, width: 24, intermediate: 96, layers: 2 },
};

describe("the benchmark's SD1.x checkpoint layout", () => {
  it("equals the torch fixture's keys and shapes at the miniature's widths", () => {
    const torch = readSafetensors(new Uint8Array(readFileSync(F16_FILE)));
    const model = [...torch.tensors.values()].filter((t) => /^(model\.diffusion_model|first_stage_model|cond_stage_model)\./.test(t.name));
    const mine = sd1CheckpointTensors(MINI);
    expect(new Map(mine.map((t) => [t.name, t.shape]))).toEqual(new Map(model.map((t) => [t.name, t.shape])));
  });

  it("has SD1.5's 1.066 B parameters at SD1.5's widths (UNet 859.5 M)", () => {
    const all = sd1CheckpointTensors(SD15_SHAPE).filter((t) => !t.dtype);
    const count = (prefix: string) => all.filter((t) => t.name.startsWith(prefix)).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(count('model.diffusion_model.')).toBe(859_520_964);
    expect(count('')).toBe(1_066_235_307);
  });

  it('a file streamed by writeRandomCheckpoint converts into a pack with the layout\'s 32 UNet LoRA layers', async () => {
    const path = join(tempDir('bench'), 'streamed.safetensors');
    const size = writeRandomCheckpoint(path, sd1CheckpointTensors(MINI), 'F32');
    expect(readFileSync(path).byteLength).toBe(size);
    const r = await packMini(path);
    expect(r.checkpoint.dtypes).toEqual({ F32: 362 });
    expect(r.checkpoint.schedule).toMatch(/SD1.5's default/);
    expect(r.manifest.lora.layers).toHaveLength(32);
  });
});
