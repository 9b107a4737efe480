// The terminal progress line of a training run: one line rewritten with \r (step/total, loss
// EMA, it/s, ETA), and the loss log: one JSON object per step appended to <run>/log.jsonl.
import { appendFileSync } from 'node:fs';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Exponential moving average with bias correction (the first value is the EMA, not 0.1 of it). */
export class Ema {
  private value = 0;
  private weight = 0;
  constructor(readonly decay = 0.9) {}
  update(x: number): number {
    this.value = this.decay * this.value + (1 - this.decay) * x;
    this.weight = this.decay * this.weight + (1 - this.decay);
    return this.get();
  }
  get(): number { return this.weight > 0 ? this.value / this.weight : Number.NaN; }
}

export interface ProgressLine {
  stage: string;
  step: number;
  total: number;
  lossEma: number;
  itPerSec: number;
}

export function progressText(p: ProgressLine, width = 24): string {
  const frac = p.total > 0 ? Math.min(1, p.step / p.total) : 1;
  const filled = Math.round(frac * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  const eta = p.itPerSec > 0 ? (p.total - p.step) / p.itPerSec : Number.NaN;
  const rate = p.itPerSec >= 1 ? `${p.itPerSec.toFixed(2)} it/s` : `${(1 / p.itPerSec).toFixed(2)} s/it`;
  return `${p.stage} ${bar} ${p.step}/${p.total} loss ${p.lossEma.toPrecision(4)} ${rate} ETA ${formatDuration(eta)}`;
}

export interface ProgressSink {
  update(p: ProgressLine): void;
  done(): void;
}

/** \r-rewritten line on a TTY-like stream; `quiet` prints nothing (tests). */
export function terminalProgress(stream: NodeJS.WriteStream | null): ProgressSink {
  let last = 0;
  return {
    update(p) {
      if (!stream) return;
      const text = progressText(p);
      stream.write(`\r${text}${' '.repeat(Math.max(0, last - text.length))}`);
      last = text.length;
    },
    done() { if (stream && last > 0) stream.write('\n'); },
  };
}

export function appendJsonl(path: string, record: Record<string, unknown>): void {
  appendFileSync(path, `${JSON.stringify(record)}\n`);
}
