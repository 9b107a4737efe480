// The one-line status sentence (data-testid="status"): what the app is doing, in words.
import type { StepProgress } from '../../workers/api';
import type { PackState } from './store';

export function formatMegabytes(bytes: number): string {
  const mb = bytes / 1e6;
  return mb >= 100 ? mb.toFixed(0) : mb >= 10 ? mb.toFixed(1) : mb.toFixed(mb < 0.1 && mb > 0 ? 2 : 1);
}

export function statusText(pack: PackState, progress: StepProgress | null): string {
  if (progress) {
    return `Generating image ${progress.image + 1}/${progress.images}, step ${progress.step}/${progress.steps}`;
  }
  const name = pack.name ?? pack.id ?? 'model pack';
  switch (pack.phase) {
    case 'idle':
      return 'Starting…';
    case 'listing':
      return 'Looking for model packs…';
    case 'loading': {
      const verb = pack.fromCache ? `Loading ${name} from cache` : `Downloading ${name}`;
      if (pack.totalBytes <= 0) return `${verb}…`;
      return `${verb}: ${formatMegabytes(pack.loadedBytes)} / ${formatMegabytes(pack.totalBytes)} MB`;
    }
    case 'ready':
      return pack.downloadedBytes === 0 ? 'Ready (from cache)' : 'Ready';
    case 'error':
      return `Could not load ${name}`;
  }
}
