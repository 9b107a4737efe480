// From per-identity results to the table's JSON: means over identities with a 95% bootstrap
// interval per metric (identities resampled). A sharded run's parts and an unsharded run give the
// same JSON because both aggregate the same per-identity records, sorted by identity.
import { bootstrapMeanCI, mean } from './bootstrap';
import type { EvalSettings, IdentityResult, ImageScores } from './evaluate';

export type Interval = [number, number];

export interface ScoresWithCI {
  identity: number;
  identityCI: Interval;
  style: number;
  styleCI: Interval;
  similarity: number;
  similarityCI: Interval;
}

export interface MethodSummary extends ScoresWithCI {
  /** mean personalization time per identity (image generation excluded) */
  seconds: number;
}

export interface EvalResult {
  methods: Record<string, MethodSummary>;
  /** the renderer's own images, scored the same way: what a perfect personalization would reach */
  renders: ScoresWithCI;
  ids: number;
  seed: number;
  protocol: EvalSettings;
}

/** Bootstrap seed of the intervals: fixed, so the JSON is a function of the per-identity results. */
export const CI_SEED = 16;

function summarize(rows: readonly ImageScores[]): ScoresWithCI {
  const col = (k: keyof ImageScores) => rows.map((r) => r[k]);
  const ci = (k: keyof ImageScores) => bootstrapMeanCI(col(k), { seed: CI_SEED });
  return {
    identity: mean(col('identity')), identityCI: ci('identity'),
    style: mean(col('style')), styleCI: ci('style'),
    similarity: mean(col('similarity')), similarityCI: ci('similarity'),
  };
}

/** Checks that `results` hold every identity 0 … ids−1 exactly once, each with every method. */
export function checkComplete(results: readonly IdentityResult[], settings: EvalSettings): void {
  const seen = new Set<number>();
  for (const r of results) {
    if (seen.has(r.identity)) throw new Error(`identity ${r.identity} occurs twice in the results`);
    seen.add(r.identity);
    for (const m of settings.methods) if (!r.methods[m]) throw new Error(`identity ${r.identity} has no result for method '${m}'`);
  }
  const missing = [];
  for (let i = 0; i < settings.ids; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length) throw new Error(`${missing.length} of ${settings.ids} identities have no result yet (first: ${missing.slice(0, 5).join(', ')}): run the missing shards or resume`);
  if (seen.size !== settings.ids) throw new Error(`results hold identities outside 0..${settings.ids - 1}`);
}

export function aggregate(results: readonly IdentityResult[], settings: EvalSettings): EvalResult {
  checkComplete(results, settings);
  const rows = [...results].sort((a, b) => a.identity - b.identity);
  const methods: Record<string, MethodSummary> = {};
  for (const m of settings.methods) {
    const per = rows.map((r) => r.methods[m]);
    methods[m] = { ...summarize(per), seconds: mean(per.map((p) => p.seconds)) };
  }
  return { methods, renders: summarize(rows.map((r) => r.renders)), ids: settings.ids, seed: settings.seed, protocol: settings };
}

/** Identities of shard `index` of `count`: every count-th one, so shards take equal work. */
export function shardIdentities(ids: number, shard: { index: number; count: number }): number[] {
  const out = [];
  for (let i = shard.index; i < ids; i += shard.count) out.push(i);
  return out;
}
