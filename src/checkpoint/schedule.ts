// The noise schedule of a single-file checkpoint: SD1.x training scripts save their schedule
// buffers (betas, alphas_cumprod, …) beside the weights. When present they are read and must
// be a scaled-linear or linear schedule (what the pack's manifest and samplers describe); when
// absent, SD1.5's scaled-linear 0.00085 → 0.012 over 1000 steps is used. The summary says which.
import type { PackManifest } from '../packs/manifest';
import type { TensorRef } from './components';
import { CheckpointError } from './errors';
import { readTensorFloat32 } from './safetensorsIndex';

export const SD15_SCHEDULE: PackManifest['schedule'] = {
  numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear', predictionType: 'epsilon',
};

export interface ScheduleResult {
  schedule: PackManifest['schedule'];
  /** the extra key it was read from, or null for SD1.5's default */
  from: string | null;
}

/** float32-stored betas differ from the float64 formula by ~1e-9; a different schedule by far more */
const TOLERANCE = 1e-6;
const tidy = (v: number) => Number(v.toPrecision(6));

export function betasOf(kind: 'linear' | 'scaled_linear', start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = n === 1 ? 0 : i / (n - 1);
    out[i] = kind === 'linear' ? start + f * (end - start) : (Math.sqrt(start) + f * (Math.sqrt(end) - Math.sqrt(start))) ** 2;
  }
  return out;
}

export async function readSchedule(extras: ReadonlyMap<string, TensorRef>, file: string): Promise<ScheduleResult> {
  const key = extras.has('betas') ? 'betas' : extras.has('alphas_cumprod') ? 'alphas_cumprod' : null;
  if (!key) return { schedule: SD15_SCHEDULE, from: null };
  const ref = extras.get(key)!;
  const values = await readTensorFloat32(ref.index, ref.entry);
  const n = values.length;
  const betas = new Float64Array(n);
  if (key === 'betas') betas.set(values);
  else for (let i = 0; i < n; i++) betas[i] = 1 - values[i] / (i ? values[i - 1] : 1);
  if (n < 2 || betas.some((b) => !(b > 0 && b < 1))) throw new CheckpointError('schedule', `${file}: ${key} does not hold a noise schedule (${n} values, not all betas in (0, 1))`);
  const start = tidy(betas[0]);
  const end = tidy(betas[n - 1]);
  for (const kind of ['scaled_linear', 'linear'] as const) {
    const want = betasOf(kind, start, end, n);
    if (want.every((w, i) => Math.abs(w - betas[i]) <= TOLERANCE)) {
      return { schedule: { numTrainTimesteps: n, betaStart: start, betaEnd: end, betaSchedule: kind, predictionType: 'epsilon' }, from: key };
    }
  }
  throw new CheckpointError('schedule', `${file}: its ${key} is neither a scaled-linear nor a linear schedule from ${start} to ${end} (a cosine or custom schedule): the pack's samplers cannot describe it`);
}
