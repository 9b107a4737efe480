// A run of `hyperbooth eval` on disk (Node only): run.json holds what the results depend on
// (settings, pack files, scorer files); identity-NNNNN.json holds one identity's results and
// identity-NNNNN.rgba its generated images (so other scorers can rescore them without
// generating again), both written atomically as the identity finishes, images first. A killed
// run resumes by skipping the identities already written; shards write into one folder or
// several, and `eval merge` aggregates them.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomicWrite';
import { scoreIdentity, type EvalScorers, type EvalSettings, type GeneratedImages, type IdentityResult } from './evaluate';
import { aggregate, type EvalResult } from './results';

export const RUN_FILE = 'run.json';

/** Everything a result depends on: a resume or a merge refuses runs whose keys differ. */
export interface RunKey {
  settings: EvalSettings;
  pack: { id: string; files: string[] };
  scorers: { embedderSha256: string; scorersSha256: string };
  /** each training method's learning rate (methods.ts learningRates); absent in runs made before it was recorded */
  rates?: Record<string, number>;
}

export const identityFileName = (i: number): string => `identity-${String(i).padStart(5, '0')}.json`;
export const imagesFileName = (i: number): string => `identity-${String(i).padStart(5, '0')}.rgba`;
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

export function writeResult(dir: string, r: IdentityResult, images: GeneratedImages, settings: EvalSettings): void {
  const parts = settings.methods.flatMap((m) => images[m].map((img) => img.data));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  writeFileAtomic(join(dir, imagesFileName(r.identity)), bytes);
  writeFileAtomic(join(dir, identityFileName(r.identity)), `${JSON.stringify(r)}\n`);
}

/** The generated images of identity `i` as writeResult stored them. */
export function readImages(dir: string, i: number, settings: EvalSettings, size: number): GeneratedImages {
  const bytes = readFileSync(join(dir, imagesFileName(i)));
  const per = settings.seeds * settings.styles.length, n = size * size * 4;
  if (bytes.length !== settings.methods.length * per * n) throw new Error(`${imagesFileName(i)} holds ${bytes.length} bytes, expected ${settings.methods.length * per * n}`);
  return Object.fromEntries(settings.methods.map((m, k) => [m, Array.from({ length: per }, (_, j) => {
    const start = (k * per + j) * n;
    return { width: size, height: size, data: new Uint8ClampedArray(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + n)) };
  })]));
}

/**
 * Scores a run's stored images again with other scorers, into a new run folder (the seconds are
 * the original run's): identities already in `to` are skipped, so it resumes too. With `ids`,
 * only identities 0 … ids−1 are taken (an identity's images do not depend on how many
 * identities the run had), e.g. the part of a long run that finished.
 */
export async function rescoreRun(from: string, to: string, scorers: EvalScorers, scorerKey: RunKey['scorers'], size: number, ids?: number): Promise<number> {
  const key = readKey(from);
  if (!key) throw new Error(`${from} is not an evaluation run (no ${RUN_FILE})`);
  if (ids !== undefined && !(Number.isInteger(ids) && ids >= 1 && ids <= key.settings.ids)) throw new Error(`--ids must be an integer in 1..${key.settings.ids} (the run's identities), got ${ids}`);
  const settings = { ...key.settings, ids: ids ?? key.settings.ids };
  const have = new Set(openRun(to, { ...key, settings, scorers: scorerKey }).map((r) => r.identity));
  let done = 0;
  for (const old of readResults(from)) {
    if (have.has(old.identity) || old.identity >= settings.ids) continue;
    const images = readImages(from, old.identity, key.settings, size);
    const seconds = Object.fromEntries(Object.entries(old.methods).map(([m, s]) => [m, s.seconds]));
    const r = await scoreIdentity(scorers, key.settings, old.identity, size, images, seconds);
    copyFileSync(join(from, imagesFileName(old.identity)), join(to, imagesFileName(old.identity)));
    writeFileAtomic(join(to, identityFileName(old.identity)), `${JSON.stringify(r)}\n`);
    done++;
  }
  return done;
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
