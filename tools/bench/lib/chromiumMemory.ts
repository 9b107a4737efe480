// Peak memory of the chromium processes this Node process started (Linux /proc): each one's
// VmHWM (its own high-water mark, so no sampling is needed), by kind — the renderer holds the
// page and its Web Workers, where the app's models and the checkpoint import run.
import { readdirSync, readFileSync } from 'node:fs';

export interface ChromiumProcess { pid: number; kind: string; peakMb: number; rssMb: number }

function status(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

const field = (s: string, name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) / 1024;

/** Every live descendant of `root` (default this process) whose command is chromium. */
export function chromiumProcesses(root = process.pid): ChromiumProcess[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = status(Number(d));
    const pp = s && /PPid:\s+(\d+)/.exec(s)?.[1];
    if (pp) parent.set(Number(d), Number(pp));
  }
  const descends = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  const out: ChromiumProcess[] = [];
  for (const pid of parent.keys()) {
    if (!descends(pid)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (!/chrom/i.test(cmd.split(' ')[0] ?? '')) continue;
    const s = status(pid);
    if (!s) continue;
    const kind = /--type=(\S+)/.exec(cmd)?.[1] ?? 'browser';
    out.push({ pid, kind: kind === 'utility' ? `utility ${/--utility-sub-type=(\S+)/.exec(cmd)?.[1] ?? ''}`.trim() : kind, peakMb: field(s, 'VmHWM'), rssMb: field(s, 'VmRSS') });
  }
  return out;
}
