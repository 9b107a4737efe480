// `npm run bench -- import`: `hyperbooth pack --from model.safetensors` on a full-size
// SD1.5-shaped checkpoint (the original single-file layout, 1.07 B parameters, random weights;
// fp16 ≈ 2.0 GiB, fp32 ≈ 4.0 GiB), made on disk by streaming (tools/bench/lib/sd1Checkpoint.ts)
// into .bench/. The target (issue 11) is conversion ≤ 2× the time to read the file once; each
// measurement runs in a process of its own and reports that process's peak RSS (VmHWM).
import { existsSync, openSync, readSync, closeSync, rmSync, statfsSync, statSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../args';
import { machineLine, printTable, runWhenMain, vmHwmMb } from './lib/report';
import { runBenchChild } from './lib/child';
import { SD15_SHAPE, sd1CheckpointTensors, writeRandomCheckpoint } from './lib/sd1Checkpoint';
import { packCheckpoint } from '../../src/checkpoint/packCheckpoint';

export const summary = 'pack --from model.safetensors on a full-size SD1.5-shaped checkpoint: time vs reading the file once, peak RSS';

const USAGE = `usage: npm run bench -- import [--dtype F16|F32] [--fp16] [--regenerate] [--keep]
  --dtype D      the checkpoint's dtype (default F16: about 2 GiB; F32 about 4 GiB)
  --fp16         also pack with --fp16 (float16 weights in the pack)
  --regenerate   remake .bench/sd15-<dtype>.safetensors even if it is there
  --keep         keep the packs in .bench/import-packs (removed by default)`;

const GiB = 2 ** 30;

const runChild = async (args: string[]): Promise<Record<string, number>> => JSON.parse(await runBenchChild(fileURLToPath(import.meta.url), args));

/** In a child: read the whole file once, 16 MiB at a time, as a baseline for the conversion. */
function childRead(path: string): Record<string, number> {
  const t0 = performance.now();
  const fd = openSync(path, 'r');
  const buf = new Uint8Array(16 * 2 ** 20);
  let total = 0;
  let x = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, total);
    if (n === 0) break;
    x ^= buf[n - 1];
    total += n;
  }
  closeSync(fd);
  return { ms: performance.now() - t0, cpuMs: cpuMs(), bytes: total, peakRssMb: vmHwmMb(), x };
}

async function childPack(from: string, out: string, fp16: boolean): Promise<Record<string, number>> {
  const r = await packCheckpoint({ from, out, fp16, log: (l) => console.error(l) });
  const part = (p: string) => r.parts.find((x) => x.part === p)?.ms ?? 0;
  return { ms: r.ms, cpuMs: cpuMs(), peakRssMb: vmHwmMb(), totalBytes: r.totalBytes, unetMs: part('unet'), textMs: part('text_encoder'), vaeMs: part('vae_encoder') + part('vae_decoder') };
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** user + system CPU time of this process: on a shared machine, wall time mostly measures the others */
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['regenerate', 'keep', 'help', 'fp16', 'child-fp16']);
  if (a.flags['child-read']) { console.log(JSON.stringify(childRead(String(a.flags['child-read'])))); return 0; }
  if (a.flags['child-pack']) { console.log(JSON.stringify(await childPack(String(a.flags.from), String(a.flags['child-pack']), !!a.flags['child-fp16']))); return 0; }
  if (a.flags.help) { console.log(USAGE); return 0; }

  const dtype = String(a.flags.dtype ?? 'F16').toUpperCase();
  if (dtype !== 'F16' && dtype !== 'F32') { console.error(`bench import: --dtype F16 or F32, not ${dtype}`); return 2; }
  const dir = resolve('.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sd15-${dtype.toLowerCase()}.safetensors`);
  const packs = join(dir, 'import-packs');
  const tensors = sd1CheckpointTensors(SD15_SHAPE);
  const params = tensors.reduce((s, t) => s + t.shape.reduce((x, y) => x * y, 1), 0);
  const fileBytes = params * (dtype === 'F16' ? 2 : 4);
  const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
  if (a.flags.regenerate || !existsSync(file)) {
    if (free < fileBytes * 3) { console.error(`bench import: ${(free / GiB).toFixed(1)} GiB free; the checkpoint and its packs need about ${(3 * fileBytes / GiB).toFixed(1)} GiB`); return 1; }
    console.error(`writing ${file} (${tensors.length} tensors, ${(params / 1e9).toFixed(3)} B parameters, ${dtype}) …`);
    const t0 = performance.now();
    writeRandomCheckpoint(file, tensors, dtype);
    console.error(`  written in ${sec(performance.now() - t0)}`);
  }
  const size = statSync(file).size;

  console.error('reading the file once …');
  const read = await runChild(['--child-read', file]);
  const modes = a.flags.fp16 ? [false, true] : [false];
  const rows: string[][] = [];
  for (const fp16 of modes) {
    const out = join(packs, fp16 ? 'sd15-fp16' : 'sd15');
    console.error(`converting${fp16 ? ' (--fp16)' : ''} → ${out}`);
    const r = await runChild(['--from', file, '--child-pack', out, ...(fp16 ? ['--child-fp16'] : [])]);
    rows.push([fp16 ? 'pack --fp16' : 'pack', sec(r.ms), `${(r.ms / read.ms).toFixed(2)} ×`, sec(r.cpuMs), `${(r.cpuMs / read.cpuMs).toFixed(2)} ×`, `${r.peakRssMb.toFixed(0)} MB`, `${(r.totalBytes / GiB).toFixed(2)} GiB`, `${sec(r.textMs)} / ${sec(r.vaeMs)} / ${sec(r.unetMs)}`]);
  }
  if (!a.flags.keep) rmSync(packs, { recursive: true, force: true });
  console.log(`SD1.5-shaped checkpoint ${file}: ${(size / GiB).toFixed(2)} GiB, ${dtype}, ${tensors.length} tensors, ${(params / 1e9).toFixed(3)} B parameters`);
  printTable(['run', 'wall time', 'vs read once', 'CPU time', 'vs read once', 'peak RSS', 'pack size', 'text / VAE / UNet (wall)'], [
    ['read the file once', sec(read.ms), '1.00 ×', sec(read.cpuMs), '1.00 ×', `${read.peakRssMb.toFixed(0)} MB`, '', ''],
    ...rows,
  ]);
  console.log('target (issue 11): conversion ≤ 2 × reading the file once');
  console.log(machineLine());
  return 0;
}

runWhenMain(import.meta.url, run);
