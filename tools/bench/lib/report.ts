// Small helpers every benchmark shares: the statistic it reports, peak memory, and its table.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Median of `xs` (NaN when empty). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Peak resident memory of this process in MB (VmHWM on Linux, else Node's maxRSS). */
export function vmHwmMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS / 1024;
}

/** Columns padded to their widest cell: the first left-aligned, the rest right-aligned. */
export function printTable(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

/** The note of a browser run that threw: the error's first line and the page's first error. */
export function failureNote(e: unknown, pageErrors: readonly string[]): string {
  return `failed: ${(e as Error).message.split('\n')[0]}${pageErrors.length ? ` (page: ${pageErrors[0]})` : ''}`;
}

/** The line every benchmark prints under its table: the machine is shared, so its load matters. */
export function machineLine(): string {
  return `machine: ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; node ${process.version}`;
}

/** Runs `run(argv)` and exits with its code when `moduleUrl` is the script node was started with (a bench run as a child process). */
export function runWhenMain(moduleUrl: string, run: (argv: string[]) => Promise<number>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => { console.error(e.stack ?? e.message); process.exit(1); },
  );
}
