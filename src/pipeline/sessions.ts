// Sessions of one pack's graphs on one runtime. Each graph is checked, as it opens, for the
// inputs its caller will feed, so a pack whose graph lacks one is refused up front, naming the
// graph and the inputs, instead of failing in the middle of a run. Every session opened through
// it is released together.
import type { PackModel } from '../packs/manifest';
import type { PackContents } from '../packs/types';
import type { ModelSource, Runtime, Session } from '../runtime/types';
import { modelSource } from './modelSource';

export interface PackSessions {
  open(name: string, model: PackModel, needed: readonly string[], extra?: Pick<ModelSource, 'holdsWeightsOnce'>): Promise<Session>;
  /** releases every session opened so far, including ones still opening */
  release(): Promise<void>;
}

export function packSessions(runtime: Runtime, pack: PackContents): PackSessions {
  const opened: Session[] = [];
  const opening = new Set<Promise<unknown>>();

  const openChecked = async (name: string, model: PackModel, needed: readonly string[], extra: Pick<ModelSource, 'holdsWeightsOnce'> = {}): Promise<Session> => {
    const session = await runtime.createSession(modelSource(name, model, pack.files, extra));
    const missing = needed.filter((n) => !session.inputNames.includes(n));
    if (missing.length) {
      await session.release();
      throw new Error(`${name} (${model.file}) lacks the inputs ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''}`);
    }
    opened.push(session);
    return session;
  };

  return {
    open(name, model, needed, extra) {
      const p = openChecked(name, model, needed, extra);
      opening.add(p);
      const settled = () => { opening.delete(p); };
      p.then(settled, settled);
      return p;
    },
    async release() {
      await Promise.allSettled([...opening]);
      const sessions = opened.splice(0);
      await Promise.all(sessions.map((s) => s.release()));
    },
  };
}

/**
 * `make` runs on the first call and its result is kept for every later one; a failure is not
 * kept, so the next call tries again (a graph the backend refused once may open after a fallback).
 */
export function onFirstUse<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make().catch((e) => { p = undefined; throw e; }));
}
