// Shared by the checkpoint tests: the committed miniature checkpoints (tests/fixtures/checkpoint,
// made by tools/fixtures/make_checkpoint_fixtures.py with torch), copies of them written here in
// other dtypes or layouts through the project's safetensors writer, and packing into temp folders.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packCheckpoint, type CheckpointPackOptions } from '../../../src/checkpoint/packCheckpoint';
import { encodeFloats, readSafetensors, toFloat32, writeSafetensors, type SafetensorsDtype, type TensorToWrite } from '../../../src/safetensors';
import { tempDir } from '../packer/helpers';

export const CHECKPOINT_FIXTURES = fileURLToPath(new URL('../../fixtures/checkpoint', import.meta.url));
export const F16_FILE = join(CHECKPOINT_FIXTURES, 'sd15-mini-f16.safetensors');
export const DIFFUSERS_DIR = join(CHECKPOINT_FIXTURES, 'diffusers');
/** the miniature's image side: the reference inputs are 16×16 images and 8×8 latents */
export const MINI_IMAGE = 16;

export const reference = () => readSafetensors(new Uint8Array(readFileSync(join(CHECKPOINT_FIXTURES, 'reference.safetensors'))));

type Rewrite = (t: TensorToWrite) => TensorToWrite | null;

/** A copy of the F16 fixture with each tensor rewritten (or dropped), plus extra tensors and metadata. */
export function writeVariant(name: string, rewrite: Rewrite, extra: TensorToWrite[] = [], metadata?: Record<string, string>): string {
  const src = readSafetensors(new Uint8Array(readFileSync(F16_FILE)));
  const tensors: TensorToWrite[] = [];
  for (const t of src.tensors.values()) {
    const out = rewrite({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes });
    if (out) tensors.push(out);
  }
  const path = join(tempDir('ckpt'), name);
  writeFileSync(path, writeSafetensors([...tensors, ...extra], metadata ?? src.metadata));
  return path;
}

/** The F16 weights re-encoded: F32 exactly (every float16 is a float32), BF16 rounded. */
export function writeInDtype(dtype: Extract<SafetensorsDtype, 'F32' | 'BF16'>): string {
  return writeVariant(`sd15-mini-${dtype.toLowerCase()}.safetensors`, (t) => (t.dtype === 'F16'
    ? { ...t, dtype, bytes: encodeFloats(toFloat32({ ...t, shape: [...t.shape] }), dtype) }
    : t));
}

/** A small safetensors file from (name, shape) pairs of zeros: for refusals decided by keys and shapes. */
export function writeKeysOnly(name: string, keys: [string, number[]][], metadata?: Record<string, string>): string {
  const path = join(tempDir('ckpt'), name);
  writeFileSync(path, writeSafetensors(keys.map(([k, shape]) => ({ name: k, dtype: 'F16', shape, bytes: new Uint8Array(2 * shape.reduce((a, b) => a * b, 1)) })), metadata));
  return path;
}

export function writeBytes(name: string, bytes: Uint8Array): string {
  const dir = tempDir('ckpt');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

export async function packMini(from: string, opts: Partial<CheckpointPackOptions> = {}) {
  const out = join(tempDir('pack'), opts.id ?? 'mini');
  return packCheckpoint({ from, out, imageSize: MINI_IMAGE, ...opts });
}
