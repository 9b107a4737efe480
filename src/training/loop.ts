// The training loop every stage shares: Adam over named Float32Array parameters, one seeded RNG
// for data and noise draws, a JSONL loss log, a progress line, and checkpoints every N steps.
// Resuming loads the latest checkpoint's parameters, Adam state and RNG state, so k steps +
// resume + k steps equals 2k steps in one go, bit for bit.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../diffusion/random';
import { Adam } from '../finetune/adam';
import { firstNonFinite } from '../finetune/lidbParams';
import { latestCheckpointPath, loadCheckpoint, saveCheckpoint, writeFileAtomic } from './checkpoint';
import { appendJsonl, Ema, type ProgressSink } from './progress';

export interface StepOutput {
  loss: number;
  /** gradient of the loss for every parameter (same names and sizes) */
  grads: Record<string, Float32Array>;
  /** components of the loss, logged beside it */
  parts?: Record<string, number>;
}

export interface TrainLoopOptions {
  stage: string;
  runDir: string;
  /** total steps of the run (a resume may raise it to train further) */
  steps: number;
  lr: number;
  /** multiplies lr at 1-based step n (a schedule); 1 when absent */
  lrFactor?: (step: number) => number;
  seed: number;
  /** trained in place */
  params: Record<string, Float32Array>;
  /** the run's settings besides steps: a resume refuses a checkpoint made with others */
  config: Record<string, unknown>;
  checkpointEvery: number;
  /** how many checkpoints to keep (oldest removed) */
  keep?: number;
  resume: boolean;
  step(rng: SeededRandom, step: number): Promise<StepOutput>;
  progress?: ProgressSink;
}

export interface TrainLoopResult {
  /** losses of the steps this call ran */
  losses: number[];
  /** steps finished in total (including those before a resume) */
  step: number;
  startStep: number;
  msPerStep: number;
}

export const LOG_FILE = 'log.jsonl';

/** Learning-rate factor at 1-based step `step`: cosine from 1 to 0.01 over `decaySteps`, then 0.01. */
export function cosineFactor(step: number, decaySteps: number): number {
  const t = Math.min(1, (step - 1) / Math.max(1, decaySteps));
  return 0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * t));
}

export async function trainLoop(o: TrainLoopOptions): Promise<TrainLoopResult> {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`--steps must be a positive integer, got ${o.steps}`);
  if (!(o.lr > 0)) throw new Error(`--lr must be positive, got ${o.lr}`);
  if (!Number.isInteger(o.checkpointEvery) || o.checkpointEvery < 1) throw new Error(`--checkpoint-every must be a positive integer, got ${o.checkpointEvery}`);
  mkdirSync(o.runDir, { recursive: true });
  const ckptDir = join(o.runDir, 'checkpoints');
  const logPath = join(o.runDir, LOG_FILE);
  const adam = new Adam(o.params, { lr: o.lr });
  let rng = new SeededRandom(o.seed);
  let step = 0;
  const latest = latestCheckpointPath(ckptDir);
  if (latest && !o.resume) throw new Error(`${o.runDir} already holds checkpoints: pass --resume to continue that run, or choose another --out`);
  if (o.resume && latest) {
    const c = loadCheckpoint(latest);
    if (c.stage !== o.stage) throw new Error(`${latest} is a '${c.stage}' checkpoint, not '${o.stage}'`);
    const want = JSON.stringify(o.config), have = JSON.stringify(c.config);
    if (want !== have) throw new Error(`${latest} was made with other settings (${have}); this run has ${want}`);
    for (const [name, p] of Object.entries(o.params)) {
      const saved = c.params[name];
      if (!saved || saved.length !== p.length) throw new Error(`${latest}: parameter ${name} is missing or has another size`);
      p.set(saved);
    }
    adam.setState(c.adam);
    rng = SeededRandom.fromState(c.rng);
    step = c.step;
    // the log may run past the checkpoint (killed between the two): drop the steps that will be redone
    if (existsSync(logPath)) {
      const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= step);
      writeFileAtomic(logPath, lines.map((l) => `${l}\n`).join(''));
    }
  } else if (existsSync(logPath)) {
    rmSync(logPath);
  }
  const startStep = step;
  if (step >= o.steps) return { losses: [], step, startStep, msPerStep: 0 };

  const checkpoint = () => {
    saveCheckpoint(ckptDir, { stage: o.stage, step, params: o.params, adam: adam.getState(), rng: rng.getState(), config: o.config });
    const keep = o.keep ?? 2;
    const names = readdirSync(ckptDir).filter((n) => /^checkpoint-\d+\.safetensors$/.test(n)).sort();
    for (const n of names.slice(0, Math.max(0, names.length - keep))) rmSync(join(ckptDir, n));
  };

  const ema = new Ema(0.9);
  const losses: number[] = [];
  const t0 = performance.now();
  while (step < o.steps) {
    const ts = performance.now();
    const out = await o.step(rng, step + 1);
    if (!Number.isFinite(out.loss)) throw new Error(`step ${step + 1}: the loss is ${out.loss}`);
    const bad = firstNonFinite(out.grads);
    if (bad) throw new Error(`step ${step + 1}: non-finite gradient ${bad}`);
    adam.step(out.grads, o.lrFactor ? o.lr * o.lrFactor(step + 1) : undefined);
    step++;
    losses.push(out.loss);
    const ms = performance.now() - ts;
    appendJsonl(logPath, { step, loss: out.loss, ...(out.parts ?? {}), ms: Math.round(ms * 10) / 10 });
    const elapsed = (performance.now() - t0) / 1000;
    o.progress?.update({ stage: o.stage, step, total: o.steps, lossEma: ema.update(out.loss), itPerSec: (step - startStep) / elapsed });
    if (step % o.checkpointEvery === 0 || step === o.steps) checkpoint();
  }
  o.progress?.done();
  return { losses, step, startStep, msPerStep: (performance.now() - t0) / (step - startStep) };
}

/** What every `hyperbooth train` stage is run with (the CLI's common flags). */
export interface StageRunOptions {
  pack: string;
  data: string;
  split?: string;
  out: string;
  steps: number;
  lr?: number;
  seed?: number;
  progress?: ProgressSink;
}

/** Stages that checkpoint one run (base, hypernet) rather than one file per identity. */
export interface CheckpointedRunOptions extends StageRunOptions {
  batch?: number;
  checkpointEvery?: number;
  resume?: boolean;
}
