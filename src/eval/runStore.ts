// A run of `hyperbooth eval` on disk (Node only): run.json holds what the results depend on
// (settings, pack files, scorer files); identity-NNNNN.json holds one identity's results, written
// atomically as it finishes. A killed run resumes by skipping the identities already written;
// shards write into one folder or several, and `eval merge` aggregates them.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../training/checkpoint';
import type { EvalSettings, IdentityResult } from './evaluate';
import { aggregate, type EvalResult } from './results';

export const RUN_FILE = 'run.json';

/** Everything a result depends on: a resume or a merge refuses runs whose keys differ. */
export interface RunKey {
  settings: EvalSettings;
  pack: { id: string; files: string[] };
  scorers: { embedderSha256: string; scorersSha256: string };
}

export const identityFileName = (i: number): string => `identity-${String(i).padStart(5, '0')}.json`;
const IDENTITY_FILE = /^identity-(\d{5,})\.json$/;

function readKey(dir: string): RunKey | undefined {
  const path = join(dir, RUN_FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as RunKey;
}

/** Creates the run folder or checks that it was made with the same key; returns the results already there. */
export function openRun(dir: string, key: RunKey): IdentityResult[] {
  mkdirSync(dir, { recursive: true });
  const have = readKey(dir);
  if (have) {
    const a = JSON.stringify(have), b = JSON.stringify(key);
    if (a !== b) throw new Error(`${dir} holds an evaluation made with other settings, pack or scorers (${a}); this run has ${b}: choose another --out`);
  } else {
    writeFileAtomic(join(dir, RUN_FILE), `${JSON.stringify(key, null, 2)}\n`);
  }
  return readResults(dir);
}

export function readResults(dir: string): IdentityResult[] {
  return readdirSync(dir).filter((n) => IDENTITY_FILE.test(n)).sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as IdentityResult);
}

export function writeResult(dir: string, r: IdentityResult): void {
  writeFileAtomic(join(dir, identityFileName(r.identity)), `${JSON.stringify(r)}\n`);
}

/** Aggregates the results in one or more run folders of the same key (shards of one evaluation). */
export function mergeRuns(dirs: readonly string[]): { result: EvalResult; key: RunKey } {
  if (!dirs.length) throw new Error('eval merge needs at least one run folder');
  let key: RunKey | undefined;
  const byIdentity = new Map<number, IdentityResult>();
  for (const dir of dirs) {
    const k = readKey(dir);
    if (!k) throw new Error(`${dir} is not an evaluation run (no ${RUN_FILE})`);
    if (key && JSON.stringify(k) !== JSON.stringify(key)) throw new Error(`${dir} was made with other settings, pack or scorers than ${dirs[0]}`);
    key = k;
    for (const r of readResults(dir)) {
      const seen = byIdentity.get(r.identity);
      if (seen && JSON.stringify(seen) !== JSON.stringify(r)) throw new Error(`identity ${r.identity} has different results in two run folders`);
      byIdentity.set(r.identity, r);
    }
  }
  return { result: aggregate([...byIdentity.values()], key!.settings), key: key! };
}
