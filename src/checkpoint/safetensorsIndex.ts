// Opens a .safetensors file through a ByteSource: reads the 8-byte length and the JSON header
// only, checks them (src/safetensors: offsets tile the file exactly, shapes match sizes),
// and reads tensors later one at a time. What is not safetensors is recognised first: a
// PyTorch pickle is refused by its magic bytes and never parsed further.
import { FLOAT_DTYPES, parseSafetensorsHeader, safetensorsHeaderLength, SafetensorsError, toFloat32, type TensorEntry } from '../safetensors';
import type { ByteSource } from './byteSource';
import { CheckpointError } from './errors';

export interface TensorIndex {
  source: ByteSource;
  metadata: Record<string, string>;
  entries: Map<string, TensorEntry>;
  /** file offset of the byte buffer */
  dataStart: number;
}

/** How to turn a pickle checkpoint into safetensors without running its code elsewhere either. */
export const PICKLE_ADVICE =
  'Download the model\'s .safetensors version (most model pages offer one), or convert the file on a machine you trust with PyTorch ≥ 2.4 ' +
  '(torch.load(..., weights_only=True) refuses code): python -c "import torch; from safetensors.torch import save_file; ' +
  'sd = torch.load(\'model.ckpt\', map_location=\'cpu\', weights_only=True); sd = sd.get(\'state_dict\', sd); ' +
  'save_file({k: v.contiguous() for k, v in sd.items() if isinstance(v, torch.Tensor)}, \'model.safetensors\')"';

function refusePickle(name: string, first: Uint8Array): void {
  const zip = first[0] === 0x50 && first[1] === 0x4b && first[2] === 0x03 && first[3] === 0x04;
  const pickle = first[0] === 0x80 && first[1] >= 2 && first[1] <= 5;
  if (!zip && !pickle) return;
  throw new CheckpointError('pickle',
    `${name} is a PyTorch ${zip ? 'zip checkpoint (a pickle inside a zip: .ckpt/.pt/.pth/.bin)' : 'pickle file (.ckpt/.pt/.bin)'}. ` +
    `Loading a pickle runs whatever code it holds, so HyperBooth never opens one. ${PICKLE_ADVICE}`);
}

export async function indexSafetensors(source: ByteSource): Promise<TensorIndex> {
  const { name, size } = source;
  const first = await source.read(0, Math.min(8, size));
  refusePickle(name, first);
  if (size < 8) throw new CheckpointError('truncated', `${name} has ${size} bytes: too short to be a .safetensors file (a cut download?)`);
  let n: number;
  try {
    n = safetensorsHeaderLength(first);
  } catch {
    throw new CheckpointError('not-safetensors', `${name} is not a .safetensors file (its first 8 bytes are not a plausible header length). Give a Stable Diffusion 1.x .safetensors checkpoint or a diffusers folder.`);
  }
  if (8 + n > size) throw new CheckpointError('truncated', `${name} is truncated: its header claims ${n} bytes but the file has ${size - 8} after the length (a cut download? download it again)`);
  try {
    const header = parseSafetensorsHeader(await source.read(8, n), size - 8 - n);
    return { source, metadata: header.metadata, entries: new Map(header.entries.map((e) => [e.name, e])), dataStart: header.dataStart };
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    if (e.code === 'truncated') throw new CheckpointError('truncated', `${name} is truncated: ${e.message} (a cut download? download it again)`);
    if (n > 0 && e.code === 'bad-header' && /does not start with|not valid UTF-8/.test(e.message)) {
      throw new CheckpointError('not-safetensors', `${name} is not a .safetensors file (${e.message}). Give a Stable Diffusion 1.x .safetensors checkpoint or a diffusers folder.`);
    }
    throw new CheckpointError('corrupt', `${name} is damaged: ${e.message} (download it again)`);
  }
}

/** One float tensor's bytes as the file holds them (little-endian, its own dtype). */
export async function readTensorRaw(index: TensorIndex, entry: TensorEntry, into?: ArrayBuffer): Promise<Uint8Array> {
  if (!FLOAT_DTYPES.includes(entry.dtype)) throw new CheckpointError('not-sd1', `${index.source.name}: tensor ${entry.name} is ${entry.dtype}, not a float type`);
  return index.source.read(index.dataStart + entry.begin, entry.end - entry.begin, into);
}

/** One float tensor's values as float32 (F32 copied, F16/BF16/F64 converted). */
export async function readTensorFloat32(index: TensorIndex, entry: TensorEntry): Promise<Float32Array> {
  const bytes = await readTensorRaw(index, entry);
  return toFloat32({ name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes });
}
