// Does attention's backward lose its time in the transposed read of the probabilities?
//   node --import tsx tools/bench/lib/attentionProducts.ts [--heads 8] [--tokens 1024] [--head-dim 40] [--iters 15] [--threads 1]
// Times, interleaved in one process (CPU time, median), the forward product P·V and the two ways
// to write the backward's dV = Pᵀ·dO: Transpose + MatMul, as the MatMul rule emits it (onnxruntime
// fuses it into a FusedMatMul with transA over P), and (dOᵀ·P)ᵀ, which transposes only the small
// operands. Checks that both backward forms give the same dV.
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel } from '../../../src/onnx';
import { parseArgs } from '../../args';
import { machineLine, median, printTable, runWhenMain } from './report';

type Form = 'forward P·V' | 'dV = Pᵀ·dO (Transpose + MatMul)' | 'dV = (dOᵀ·P)ᵀ';

function productModel(form: Form, heads: number, tokens: number, headDim: number): Uint8Array {
  const g = new GraphBuilder('attention-product');
  const p = g.input('P', 'float32', [heads, tokens, tokens]);
  const x = g.input('X', 'float32', [heads, tokens, headDim]);
  const swap = (v: string) => g.op1('Transpose', [v], { perm: [0, 2, 1] });
  const out =
    form === 'forward P·V' ? g.op1('MatMul', [p, x])
    : form === 'dV = Pᵀ·dO (Transpose + MatMul)' ? g.op1('MatMul', [swap(p), x])
    : swap(g.op1('MatMul', [swap(x), p]));
  g.output(out, 'Y', 'float32', [heads, tokens, headDim]);
  return encodeModel(g.toModel());
}

function seededUniform(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; out[i] = s / 2 ** 32; }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv);
  const num = (k: string, d: number) => (typeof flags[k] === 'string' ? Number(flags[k]) : d);
  const heads = num('heads', 8), tokens = num('tokens', 1024), headDim = num('head-dim', 40);
  const iters = num('iters', 15), threads = num('threads', 1);
  const forms: Form[] = ['forward P·V', 'dV = Pᵀ·dO (Transpose + MatMul)', 'dV = (dOᵀ·P)ᵀ'];
  const feeds = {
    P: new ort.Tensor('float32', seededUniform(heads * tokens * tokens, 1), [heads, tokens, tokens]),
    X: new ort.Tensor('float32', seededUniform(heads * tokens * headDim, 2), [heads, tokens, headDim]),
  };
  const sessions = await Promise.all(forms.map((f) => ort.InferenceSession.create(productModel(f, heads, tokens, headDim), { intraOpNumThreads: threads })));
  const outs = await Promise.all(sessions.map((s) => s.run(feeds).then((r) => r.Y.data as Float32Array)));
  let worst = 0;
  outs[1].forEach((v, i) => { worst = Math.max(worst, Math.abs(v - outs[2][i]) / Math.max(Math.abs(v), 1e-6)); });
  if (worst > 1e-4) throw new Error(`the two backward forms disagree: worst relative difference ${worst}`);
  const cpuMs: number[][] = forms.map(() => []);
  for (let r = 0; r < iters; r++) {
    for (let f = 0; f < forms.length; f++) {
      const c0 = process.cpuUsage();
      await sessions[f].run(feeds);
      const c = process.cpuUsage(c0);
      cpuMs[f].push((c.user + c.system) / 1000);
    }
  }
  const base = median(cpuMs[0]);
  console.log(`[${heads}, ${tokens}, ${tokens}] × [${heads}, ${tokens}, ${headDim}], ${threads} thread(s), median of ${iters} interleaved runs; backward forms agree within ${worst.toExponential(1)}`);
  printTable(['product', 'CPU ms', '× forward'], forms.map((f, i) => [f, median(cpuMs[i]).toFixed(1), (median(cpuMs[i]) / base).toFixed(2)]));
  console.log(machineLine());
  return 0;
}

runWhenMain(import.meta.url, main);
