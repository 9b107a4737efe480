// The one-line status sentence (data-testid="status"): what the app is doing, in words.
import type { PersonalizeProgress, StepProgress } from '../../workers/api';
import { extrapolateMs, formatLoss, formatTimeLeft } from './format';
import type { PackState, Task } from './store';
import { storedPackId } from '../packs/storedPacks';

export function formatMegabytes(bytes: number): string {
  const mb = bytes / 1e6;
  return mb >= 100 ? mb.toFixed(0) : mb >= 10 ? mb.toFixed(1) : mb.toFixed(mb < 0.1 && mb > 0 ? 2 : 1);
}

/** Generation progress with the time left, extrapolated from the pace so far. */
export function generateProgressText(p: StepProgress): string {
  const total = p.images * p.steps;
  const done = p.image * p.steps + p.step;
  const left = formatTimeLeft(extrapolateMs(p.elapsedMs, done, total));
  return `Generating image ${p.image + 1}/${p.images}, step ${p.step}/${p.steps}${left ? `, ${left}` : ''}`;
}

/**
 * Fraction of a personalization done: the hypernetwork and the VAE encode count as one step
 * each next to the fine-tune's steps (on the tiny pack they take about as long as one).
 */
export function personalizeFraction(p: PersonalizeProgress): number {
  const total = 2 + Math.max(0, p.steps);
  switch (p.stage) {
    case 'hypernetwork':
      return 0;
    case 'vae-encode':
      return 1 / total;
    case 'fine-tune':
      return Math.min(1, (2 + Math.max(0, p.step)) / total);
    case 'done':
      return 1;
  }
}

export function personalizeProgressText(p: PersonalizeProgress): string {
  const left = formatTimeLeft(p.etaMs);
  const tail = left ? `, ${left}` : '';
  switch (p.stage) {
    case 'hypernetwork':
      return `Personalizing: predicting your weights with the hypernetwork${tail}`;
    case 'vae-encode':
      return `Personalizing: encoding your photo${tail}`;
    case 'fine-tune':
      return `Personalizing: fine-tune step ${p.step}/${p.steps}${p.loss !== undefined ? `, loss ${formatLoss(p.loss)}` : ''}${tail}`;
    case 'done':
      return 'Personalizing: saving your weights';
  }
}

/** The worker has reported at least one file of the pack being loaded. */
export function hasPackProgress(pack: PackState): boolean {
  return pack.file !== undefined || pack.loadedBytes > 0;
}

export interface StatusExtras {
  task?: Task | null;
  personalize?: PersonalizeProgress | null;
  cancelling?: boolean;
  /** name of the active personalization */
  active?: string;
}

const TASK_TEXT: Record<Exclude<Task, 'generate' | 'personalize'>, string> = {
  selfie: 'Reading your photo and looking for a face…',
  import: 'Checking the LiDB file against this model pack…',
  switch: 'Switching personalization…',
  export: 'Preparing the download…',
  'add-model': 'Converting the checkpoint into a model pack in this browser…',
};

export function statusText(pack: PackState, progress: StepProgress | null, extras: StatusExtras = {}): string {
  if (progress) return generateProgressText(progress);
  const { task } = extras;
  if (task === 'personalize') {
    if (extras.cancelling) return 'Cancelling: keeping the last good weights…';
    return extras.personalize ? personalizeProgressText(extras.personalize) : 'Personalizing: starting…';
  }
  if (task && task !== 'generate') return TASK_TEXT[task];
  const name = pack.name ?? pack.id ?? 'model pack';
  // a pack made in this browser from a checkpoint: nothing is downloaded, nothing is "cached"
  const stored = pack.manifestUrl !== undefined && storedPackId(pack.manifestUrl) !== undefined;
  switch (pack.phase) {
    case 'idle':
      return 'Starting…';
    case 'listing':
      return 'Looking for model packs…';
    case 'loading': {
      // before the worker's first progress report nobody knows yet whether the bytes come from
      // the network or the cache: "Downloading … 0.0 / 9.6 MB" would be wrong half the time
      if (!hasPackProgress(pack)) return `Loading ${name}…`;
      const verb = stored ? `Loading ${name} from this browser's storage` : pack.fromCache ? `Loading ${name} from cache` : `Downloading ${name}`;
      if (pack.totalBytes <= 0) return `${verb}…`;
      return `${verb}: ${formatMegabytes(pack.loadedBytes)} / ${formatMegabytes(pack.totalBytes)} MB`;
    }
    case 'ready': {
      const ready = stored ? 'Ready (stored in this browser)' : pack.downloadedBytes === 0 ? 'Ready (from cache)' : 'Ready';
      return extras.active ? `${ready} · personalized: ${extras.active}` : ready;
    }
    case 'error':
      return `Could not load ${name}`;
  }
}
