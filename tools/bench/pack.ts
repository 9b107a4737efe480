// `npm run bench -- pack`: pack time and peak memory of `hyperbooth pack` on a full-size
// SD1.5-shaped UNet (real dimensions, random weights, 3.4 GB fp32), fp32 and --fp16. The export
// is made on demand by tools/fixtures/make_sd_fixtures.py --full-unet into .bench/ (gitignored;
// ~7 min, ~10 GB of RAM for torch, 3.5 GB of disk) beside a small 768-wide text encoder and the
// tiny VAE, so the numbers are the UNet's. Each pack runs in a process of its own and reports
// that process's high-water mark (VmHWM). --verify then runs the exported UNet and the packed
// one (zero LoRA slots) on the same input in onnxruntime-node and prints the largest difference.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { parseArgs } from '../args';
import { machineLine, runWhenMain, vmHwmMb } from './lib/report';
import { runBenchChild } from './lib/child';
import { packExport, type PackResult } from '../../src/packer';
import { loraInputNames } from '../../src/packs/manifest';

export const summary = 'pack time and peak RSS of hyperbooth pack on a full-size SD1.5-shaped UNet (fp32 and --fp16)';

const USAGE = `usage: npm run bench -- pack [--export DIR] [--regenerate] [--verify] [--keep] [--chunk-mb N] [--threads 2]
  --export DIR   the SD1.5-shaped export (default .bench/sd15-export; made with tools/fixtures/make_sd_fixtures.py --full-unet)
  --regenerate   remake the export even if it is there
  --verify       also run the exported and the packed UNet (fp32 pack, zero slots) and compare outputs
  --keep         keep the packs in .bench/packs (3.4 + 1.7 GB); removed by default`;

const PYTHON = '/usr/bin/python3';
const SCRIPT = 'tools/fixtures/make_sd_fixtures.py';
const GiB = 2 ** 30;

interface ChildReport {
  ms: number;
  peakRssMb: number;
  parts: { part: string; ms: number; bytes: number; files: number }[];
  totalBytes: number;
  unetChunks: number;
  weights: string;
}

const runChild = (args: string[]): Promise<string> => runBenchChild(fileURLToPath(import.meta.url), args);

function runPython(args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok() : fail(new Error(`${SCRIPT} ${args.join(' ')} failed (exit ${code})`))));
  });
}

const freeBytes = (dir: string) => { const s = statfsSync(dir); return s.bavail * s.bsize; };

/** In the child: one pack, then its numbers as one JSON line. */
async function childPack(from: string, out: string, fp16: boolean, chunkBytes?: number): Promise<ChildReport> {
  const r: PackResult = await packExport({ from, out, fp16, ...(chunkBytes ? { chunkBytes } : {}), log: (l) => console.error(l) });
  return {
    ms: r.ms,
    peakRssMb: vmHwmMb(),
    parts: r.parts.map((p) => ({ part: p.part, ms: p.ms, bytes: p.files.reduce((s, f) => s + f.size, 0), files: p.files.length })),
    totalBytes: r.totalBytes,
    unetChunks: r.manifest.models.unet.externalData?.length ?? 0,
    weights: r.manifest.conversion.weights,
  };
}

/** In the child: the exported UNet and the packed one on the same input, one after the other. */
async function childVerify(from: string, pack: string, threads: number): Promise<Record<string, number>> {
  const manifest = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8')) as PackResult['manifest'];
  const { channels, height, width } = manifest.latent;
  let s = 12345;
  const rand = (n: number) => Float32Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32 - 0.5; });
  const feeds: Record<string, ort.Tensor> = {
    sample: new ort.Tensor('float32', rand(channels * height * width), [1, channels, height, width]),
    timestep: new ort.Tensor('float32', new Float32Array([500]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', rand(manifest.text.maxLength * manifest.text.hiddenSize), [1, manifest.text.maxLength, manifest.text.hiddenSize]),
  };
  const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads };
  const runOne = async (path: string, extra: Record<string, ort.Tensor>) => {
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(path, opts);
    const t1 = performance.now();
    const out = (await session.run({ ...feeds, ...extra }, ['out_sample'])).out_sample.data as Float32Array;
    const t2 = performance.now();
    await session.release();
    return { out: out.slice(), createMs: t1 - t0, runMs: t2 - t1 };
  };
  const original = await runOne(join(from, 'unet/model.onnx'), {});
  const zeros: Record<string, ort.Tensor> = {};
  for (const l of manifest.lora.layers.filter((x) => x.target === 'unet')) {
    const n = loraInputNames(l.name);
    zeros[n.down] = new ort.Tensor('float32', new Float32Array(l.nIn), [l.nIn, 1]);
    zeros[n.up] = new ort.Tensor('float32', new Float32Array(l.nOut), [1, l.nOut]);
  }
  const packed = await runOne(join(pack, manifest.models.unet.file), zeros);
  let maxDiff = 0;
  let maxOut = 0;
  for (let i = 0; i < original.out.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(original.out[i] - packed.out[i]));
    maxOut = Math.max(maxOut, Math.abs(original.out[i]));
  }
  return { maxDiff, maxOut, originalCreateMs: original.createMs, originalRunMs: original.runMs, packCreateMs: packed.createMs, packRunMs: packed.runMs, peakRssMb: vmHwmMb() };
}

const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['regenerate', 'verify', 'keep', 'help', 'child-fp16']);
  if (a.flags['child-pack']) {
    console.log(JSON.stringify(await childPack(String(a.flags.from), String(a.flags['child-pack']), !!a.flags['child-fp16'], a.flags['chunk-bytes'] ? Number(a.flags['chunk-bytes']) : undefined)));
    return 0;
  }
  if (a.flags['child-verify']) {
    console.log(JSON.stringify(await childVerify(String(a.flags.from), String(a.flags['child-verify']), Number(a.flags.threads ?? 2))));
    return 0;
  }
  if (a.flags.help) { console.log(USAGE); return 0; }

  const exportDir = resolve(typeof a.flags.export === 'string' ? a.flags.export : '.bench/sd15-export');
  const packsDir = resolve('.bench/packs');
  const weightsPb = join(exportDir, 'unet/weights.pb');
  if (a.flags.regenerate || !existsSync(weightsPb)) {
    const need = 4 * GiB;
    const free = freeBytes(resolve('.'));
    if (free < need + 6 * GiB) {
      console.error(`bench pack: ${gib(free)} free; making the export and the two packs needs about ${gib(need + 6 * GiB)}`);
      return 1;
    }
    if (!existsSync(PYTHON)) { console.error(`bench pack: ${PYTHON} (with python3-torch, python3-onnx) is needed to make the export`); return 1; }
    console.error(`making the SD1.5-shaped export in ${exportDir} (torch.onnx; several minutes, ~10 GB RAM) …`);
    await runPython(['--full-unet', exportDir]);
  }
  const weightBytes = statSync(weightsPb).size;
  if (freeBytes(resolve('.')) < 1.6 * weightBytes) { console.error(`bench pack: not enough free disk for the packs (${gib(freeBytes(resolve('.')))} free)`); return 1; }

  const chunkArg = typeof a.flags['chunk-mb'] === 'string' ? ['--chunk-bytes', String(Math.floor(Number(a.flags['chunk-mb']) * 2 ** 20))] : [];
  const results: (ChildReport & { mode: string })[] = [];
  for (const mode of ['fp32', 'fp16'] as const) {
    const out = join(packsDir, `sd15-${mode}`);
    console.error(`packing (${mode}) → ${out}`);
    const line = await runChild(['--from', exportDir, '--child-pack', out, ...(mode === 'fp16' ? ['--child-fp16'] : []), ...chunkArg]);
    results.push({ mode, ...(JSON.parse(line) as ChildReport) });
  }
  let verify: Record<string, number> | undefined;
  if (a.flags.verify) {
    console.error('verifying: exported UNet vs packed UNet (fp32, zero slots), onnxruntime-node CPU …');
    verify = JSON.parse(await runChild(['--from', exportDir, '--child-verify', join(packsDir, 'sd15-fp32'), '--threads', String(a.flags.threads ?? 2)])) as Record<string, number>;
  }
  if (!a.flags.keep) rmSync(packsDir, { recursive: true, force: true });

  console.log(`hyperbooth pack on an SD1.5-shaped UNet: ${gib(weightBytes)} of fp32 weights in unet/weights.pb (${exportDir})`);
  console.log('mode   pack time   UNet stage   peak RSS    peak / UNet weights   pack size   UNet chunks');
  for (const r of results) {
    const unet = r.parts.find((p) => p.part === 'unet')!;
    console.log(`${r.mode.padEnd(6)} ${sec(r.ms).padStart(9)}   ${sec(unet.ms).padStart(10)}   ${`${r.peakRssMb.toFixed(0)} MB`.padStart(8)}    ${(r.peakRssMb * 2 ** 20 / weightBytes * 100).toFixed(1).padStart(6)} %              ${gib(r.totalBytes).padStart(9)}   ${r.unetChunks}`);
  }
  if (verify) {
    console.log(`verify: max |exported − packed| out_sample ${verify.maxDiff.toExponential(2)} (max |out| ${verify.maxOut.toFixed(3)}); ` +
      `session create ${sec(verify.originalCreateMs)} / ${sec(verify.packCreateMs)}, run ${sec(verify.originalRunMs)} / ${sec(verify.packRunMs)} (exported / packed); peak RSS ${verify.peakRssMb.toFixed(0)} MB`);
  }
  console.log(machineLine());
  return 0;
}

runWhenMain(import.meta.url, run);
