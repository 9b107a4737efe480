// The fuzz suite's one runner: feeds each target's mutated inputs to its reader, one at a time,
// and holds every case to the contract — success, or one of the reader's typed errors — within
// CASE_LIMIT_MS. The time bound is a guard against hangs (a case that loops or backtracks),
// not a speed target; speed is what `npm run bench` measures.
import { FuzzRng, type Mutator } from './mutate';

export const CASE_LIMIT_MS = 1000;

export interface FuzzTarget {
  name: string;
  /** valid inputs the mutations start from; each must read without error */
  seeds: Uint8Array[];
  mutators: Record<string, Mutator<Uint8Array>>;
  casesPerMutator: number;
  /** mutators whose every case must be refused (each breaks a rule the reader checks) */
  mustRefuse?: ReadonlySet<string>;
  read(bytes: Uint8Array): unknown;
  /** the error's code when it is one of the reader's typed errors, else undefined */
  typedCode(e: unknown): string | undefined;
}

export interface FuzzReport {
  target: string;
  cases: number;
  accepted: number;
  refused: number;
  byCode: Record<string, number>;
  maxCaseMs: number;
  totalMs: number;
}

export async function runFuzz(t: FuzzTarget, seed: number): Promise<FuzzReport> {
  const rng = new FuzzRng(seed, t.name);
  for (const [i, s] of t.seeds.entries()) {
    try {
      await t.read(s);
    } catch (e) {
      throw new Error(`${t.name}: seed ${i} does not read: ${String(e)}`);
    }
  }
  const report: FuzzReport = { target: t.name, cases: 0, accepted: 0, refused: 0, byCode: {}, maxCaseMs: 0, totalMs: 0 };
  const t0 = performance.now();
  for (const [what, mutate] of Object.entries(t.mutators)) {
    for (let i = 0; i < t.casesPerMutator; i++) {
      const label = `${t.name}/${what}#${i} (fuzz seed ${seed})`;
      const input = mutate(t.seeds[i % t.seeds.length], rng);
      const start = performance.now();
      let error: unknown;
      let threw = false;
      try {
        await t.read(input);
      } catch (e) {
        error = e;
        threw = true;
      }
      const ms = performance.now() - start;
      if (ms > CASE_LIMIT_MS) throw new Error(`${label}: took ${ms.toFixed(0)} ms, over the ${CASE_LIMIT_MS} ms a case may take`);
      report.maxCaseMs = Math.max(report.maxCaseMs, ms);
      report.cases++;
      if (!threw) {
        if (t.mustRefuse?.has(what)) throw new Error(`${label}: accepted, but this mutation breaks a rule the reader checks`);
        report.accepted++;
        continue;
      }
      const code = t.typedCode(error);
      if (code === undefined) throw new Error(`${label}: threw an untyped error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      if (!(error instanceof Error) || error.message.length < 10) throw new Error(`${label}: the ${code} error says too little: ${String(error)}`);
      report.refused++;
      report.byCode[code] = (report.byCode[code] ?? 0) + 1;
    }
  }
  report.totalMs = performance.now() - t0;
  return report;
}
