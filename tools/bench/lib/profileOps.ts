// Where a graph's run time goes, per op type, from onnxruntime's own profiler:
//   node --import tsx tools/bench/lib/profileOps.ts <model.onnx> <inputs.json> [--threads 2]
//        [--iters 3] [--outputs a,b] [--no-prepack] [--top 25] [--json <file>] [--keep <profile.json>]
//        [--config 'k=v;k=v'] [--by op|kind]
// --by kind sums per kind of node instead (convolutions, linear layers, attention products,
// softmax, LoRA products, elementwise and norms, layout and shapes): the table in
// src/autodiff/README.md.
// Runs the model as measureSession.ts does (same session options, same seeded inputs), with
// enableProfiling on, and prints the kernel time per op type (mean per run, the warm-up run
// left out) split into forward nodes and backward nodes (src/autodiff names what it emits
// `…_grad…`; recomputed clones and weights_once gates count as backward). Used to find what a
// train step does beyond its forward (src/autodiff/README.md).
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseArgs } from '../../args';
import { CPU_SESSION_OPTIONS } from '../../../src/runtime/sessionOptions';
import { makeFeeds, parseConfig, type InputSpec } from './measureSession';
import { median } from './report';

interface ProfileEvent { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }

const BACKWARD = /_grad|weights_once|_recompute|_at_use/;

const LAYOUT = new Set(['Transpose', 'Reshape', 'Concat', 'Slice', 'Pad', 'Split', 'Unsqueeze', 'Squeeze', 'Shape', 'Expand', 'Gather', 'Identity', 'ReorderInput', 'ReorderOutput', 'Cast']);

/** The kind of work a node does, by op type and by the torch.onnx / autodiff name it carries. */
export function nodeKind(node: string, op: string): string {
  if (op === 'Conv' || op === 'ConvTranspose' || op === 'FusedConv') return 'convolutions';
  if (op === 'MatMul' || op === 'FusedMatMul' || op === 'Gemm') {
    if (node.includes('/lora/')) return 'LoRA products';
    if (/attn\d\/MatMul/.test(node)) return 'attention products';
    return 'linear layers';
  }
  if (op === 'Softmax' || node.includes('Softmax_grad')) return 'softmax';
  if (LAYOUT.has(op)) return 'layout and shapes';
  return 'elementwise and norms';
}

/**
 * Kernel µs per run, keyed `${part} ${opType}` (or `${part} ${nodeKind}` with byKind) (part 'fwd' or 'bwd'): each node's median over
 * the runs after the first (a loaded machine preempts single kernels for many ms; the median
 * drops those), summed per key.
 */
export function opTimes(events: ProfileEvent[], byKind = false): { perOp: Map<string, number>; runs: number; runUs: number } {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  if (runs.length < 2) throw new Error('the profile holds fewer than two runs');
  const after = runs[0].ts + runs[0].dur;
  const perNode = new Map<string, { key: string; durs: number[] }>();
  for (const ev of events) {
    if (ev.cat !== 'Node' || !ev.name.endsWith('_kernel_time') || ev.ts < after) continue;
    const node = ev.name.slice(0, -'_kernel_time'.length);
    const op = ev.args?.op_name ?? '?';
    const entry = perNode.get(node) ?? { key: `${BACKWARD.test(node) ? 'bwd' : 'fwd'} ${byKind ? nodeKind(node, op) : op}`, durs: [] };
    entry.durs.push(ev.dur);
    perNode.set(node, entry);
  }
  const perOp = new Map<string, number>();
  for (const { key, durs } of perNode.values()) perOp.set(key, (perOp.get(key) ?? 0) + median(durs));
  return { perOp, runs: runs.length - 1, runUs: median(runs.slice(1).map((r) => r.dur)) };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), ['no-prepack']);
  const specs = JSON.parse(readFileSync(a.positional[1], 'utf8')) as InputSpec[];
  const iters = Number(a.flags.iters ?? 3);
  const top = Number(a.flags.top ?? 25);
  const outputs = typeof a.flags.outputs === 'string' ? a.flags.outputs.split(',') : undefined;
  const base = `ort-profile-${process.pid}`;
  const session = await ort.InferenceSession.create(a.positional[0], {
    executionProviders: ['cpu'], ...CPU_SESSION_OPTIONS,
    intraOpNumThreads: Number(a.flags.threads ?? 2), interOpNumThreads: 1,
    enableProfiling: true, profileFilePrefix: join(tmpdir(), base),
    extra: { session: { intra_op: { allow_spinning: '0' }, ...(a.flags['no-prepack'] ? { disable_prepacking: '1' } : {}) }, ...(typeof a.flags.config === 'string' ? parseConfig(a.flags.config) : {}) },
  });
  const feeds = makeFeeds(specs);
  const fetches = outputs ?? session.outputNames;
  for (let i = 0; i <= iters; i++) {
    const out = await session.run(feeds, fetches);
    for (const v of Object.values(out)) v.dispose();
  }
  session.endProfiling();
  await session.release();
  // onnxruntime-node writes `${prefix}_<timestamp>.json` and does not return the name
  const file = readdirSync(tmpdir()).filter((f) => f.startsWith(base) && f.endsWith('.json')).map((f) => join(tmpdir(), f)).pop();
  if (!file) throw new Error(`no profile written under ${join(tmpdir(), base)}*`);
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  if (typeof a.flags.keep === 'string') writeFileSync(a.flags.keep, JSON.stringify(events));
  rmSync(file);
  const { perOp, runs, runUs } = opTimes(events, a.flags.by === 'kind');
  const total = (part: string) => [...perOp].filter(([k]) => k.startsWith(part)).reduce((s, [, v]) => s + v, 0);
  const ms = (us: number) => (us / 1000).toFixed(1).padStart(8);
  console.log(`${a.positional[0]}: median of ${runs} runs, run ${ms(runUs)} ms; kernels: forward ${ms(total('fwd'))} ms, backward ${ms(total('bwd'))} ms`);
  for (const [k, v] of [...perOp].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${k.padEnd(40)} ${ms(v)} ms`);
  if (typeof a.flags.json === 'string') writeFileSync(a.flags.json, JSON.stringify({ model: a.positional[0], runs, runUs, perOpUs: Object.fromEntries(perOp) }, null, 1));
}

main().then(() => process.exit(0), (e: Error) => { console.error(e.stack ?? e.message); process.exit(1); });
