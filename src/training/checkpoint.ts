// A training checkpoint: the trained parameters, Adam's moments and step count, the data/noise
// RNG state and the step, in one safetensors file written atomically (temp file + rename), so a
// kill at any moment leaves either the previous checkpoint or the new one, never half of one.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomicWrite';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../safetensors';
import type { SeededRandomState } from '../diffusion/random';
import type { AdamState } from '../finetune/adam';

export const CHECKPOINT_FORMAT = 'hyperbooth-train-checkpoint/1';

export interface Checkpoint {
  stage: string;
  /** training steps finished */
  step: number;
  params: Record<string, Float32Array>;
  adam: AdamState;
  rng: SeededRandomState;
  /** the run's settings; a resume must use the same */
  config: Record<string, unknown>;
}

const PREFIX = { param: 'param/', m: 'adam.m/', v: 'adam.v/' } as const;

const f32 = (name: string, a: Float32Array): TensorToWrite => ({
  name,
  dtype: 'F32',
  shape: [a.length],
  bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
});

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const tensors: TensorToWrite[] = [];
  for (const [name, p] of Object.entries(c.params)) {
    tensors.push(f32(PREFIX.param + name, p), f32(PREFIX.m + name, c.adam.m[name]), f32(PREFIX.v + name, c.adam.v[name]));
  }
  return writeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    stage: c.stage,
    step: String(c.step),
    adamStep: String(c.adam.t),
    rng: JSON.stringify(c.rng),
    config: JSON.stringify(c.config),
  });
}

export function decodeCheckpoint(bytes: Uint8Array, where = 'checkpoint'): Checkpoint {
  const file = readSafetensors(bytes);
  const meta = file.metadata;
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${where}: not a training checkpoint (format ${JSON.stringify(meta.format)})`);
  const params: Record<string, Float32Array> = {};
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const [name, t] of file.tensors) {
    if (t.dtype !== 'F32') throw new Error(`${where}: tensor ${name} is ${t.dtype}, not F32`);
    // copy: the view may be unaligned for a Float32Array
    const values = new Float32Array(Uint8Array.prototype.slice.call(t.bytes).buffer);
    const kind = (Object.keys(PREFIX) as (keyof typeof PREFIX)[]).find((k) => name.startsWith(PREFIX[k]));
    if (!kind) throw new Error(`${where}: unexpected tensor ${name}`);
    ({ param: params, m, v })[kind][name.slice(PREFIX[kind].length)] = values;
  }
  return {
    stage: meta.stage,
    step: Number(meta.step),
    params,
    adam: { t: Number(meta.adamStep), m, v },
    rng: JSON.parse(meta.rng) as SeededRandomState,
    config: JSON.parse(meta.config) as Record<string, unknown>,
  };
}

export const checkpointName = (step: number): string => `checkpoint-${String(step).padStart(7, '0')}.safetensors`;

// the project's one atomic writer, re-exported for the training stages that import it from here
export { writeFileAtomic };

export function saveCheckpoint(dir: string, c: Checkpoint): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, checkpointName(c.step));
  writeFileAtomic(path, encodeCheckpoint(c));
  return path;
}

/** The checkpoint with the most steps in `dir`, or null when there is none. */
export function latestCheckpointPath(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const names = readdirSync(dir).filter((n) => /^checkpoint-\d+\.safetensors$/.test(n)).sort();
  return names.length ? join(dir, names[names.length - 1]) : null;
}

export function loadCheckpoint(path: string): Checkpoint {
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
}
