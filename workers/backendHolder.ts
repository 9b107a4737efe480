// The loaded pack's models and the one backend they all run on: the pipeline (opened with the
// pack) and the personalizer (opened on the first personalize, kept for the next ones). WebGPU
// failing, while a graph opens or while it runs, moves everything to WASM; any other error (a bad
// request, a file that does not fit) is only rethrown, and the backend stays.
import type { Backend } from './api';
import type { PackContents } from '../src/packs/types';
import { createPipeline, type Pipeline } from '../src/pipeline/pipeline';
import { createPersonalizer, type Personalizer } from '../src/finetune/personalize';
import type { Runtime, Session } from '../src/runtime/types';
import { holdsOneModelSetAtATime } from '../src/packs/fit';

/** A runtime on one backend that may itself move to WASM when WebGPU refuses a graph (as onnxruntime-web's does). */
export interface BackendRuntime extends Runtime {
  readonly backend: Backend;
  /** true once a WebGPU refusal moved it to WASM (sessions it opened before stay on WebGPU) */
  readonly fellBack: boolean;
  /** why it is not on the backend it was asked for, when it is not */
  readonly notice: string | undefined;
}

/** Makes a runtime that prefers `prefer` for the pack: onnxruntime-web in the worker, onnxruntime-node in tests. */
export type RuntimeFactory = (prefer: Backend, pack: PackContents) => Promise<BackendRuntime>;

interface Models {
  pipeline?: Pipeline;
  personalizer?: Personalizer;
}

type ModelKind = keyof Models;

interface Held extends Models {
  pack: PackContents;
  backend: Backend;
  notice?: string;
}

const OPENERS: { [K in ModelKind]-?: (runtime: Runtime, pack: PackContents) => Promise<NonNullable<Models[K]>> } = {
  pipeline: createPipeline,
  personalizer: openPersonalizer,
};

/** A failure while opening the train graphs must not leave the graphs opened before it behind. */
async function openPersonalizer(runtime: Runtime, pack: PackContents): Promise<Personalizer> {
  const personalizer = await createPersonalizer(runtime, pack);
  try {
    // its graphs open lazily: the train graphs now, so that a WebGPU refusal shows while opening
    await personalizer.prepare();
  } catch (e) {
    await personalizer.release().catch(() => undefined);
    throw e;
  }
  return personalizer;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class BackendHolder {
  private held: Held | undefined;
  /** failed session opens and runs so far: an error that raised it came from the runtime */
  private runtimeFailures = 0;

  /** why the GPU device is gone, once it is: onnxruntime-web cannot open another in this worker */
  private deviceLost: string | undefined;

  /**
   * `bothSetsBudgetBytes`: a pack whose pipeline and personalizer sessions together exceed it
   * has one of the two open at a time (src/packs/fit.ts: holdsOneModelSetAtATime)
   */
  constructor(private readonly makeRuntime: RuntimeFactory, private readonly options: { bothSetsBudgetBytes?: number } = {}) {}

  /** The GPU device was lost: the models move to WASM before their next use, and stay there. */
  loseDevice(why: string): void {
    this.deviceLost = `The GPU device was lost (${why}). Running on WASM (slower).`;
  }

  get backend(): Backend | undefined {
    return this.held?.backend;
  }

  /** why the models do not run on the preferred backend, when they do not */
  get notice(): string | undefined {
    return this.held?.notice;
  }

  requirePack(doing: string): PackContents {
    if (!this.held) throw new Error(`No model pack is loaded yet: load one before ${doing}.`);
    return this.held.pack;
  }

  /** Opens the pack's pipeline on `prefer` (or on WASM, when WebGPU refuses it); `why` says why `prefer` was chosen, when it needs saying. */
  async load(pack: PackContents, prefer: Backend, why?: string): Promise<void> {
    await this.unload();
    this.held = prefer === 'webgpu' && this.deviceLost ? { pack, backend: 'wasm', notice: this.deviceLost } : { pack, backend: prefer, notice: why };
    try {
      await this.model('pipeline');
    } catch (e) {
      this.held = undefined;
      throw e;
    }
  }

  /** Releases every session; nothing is loaded afterwards. */
  async unload(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held) await releaseAll(held);
  }

  /** Runs `use` on the pipeline; see runWithFallback. */
  withPipeline<T>(doing: string, use: (pipeline: Pipeline) => Promise<T>): Promise<T> {
    return this.runWithFallback(doing, 'pipeline', use);
  }

  /** Runs `use` on the personalizer (opened on first use); see runWithFallback. */
  withPersonalizer<T>(doing: string, use: (personalizer: Personalizer) => Promise<T>): Promise<T> {
    return this.runWithFallback(doing, 'personalizer', use);
  }

  /**
   * Runs `use` on a model of the loaded pack. When a session failed to open or run on WebGPU
   * during it (a lost device, a kernel WebGPU lacks), every model is released and `use` runs
   * again from the start on WASM, where they stay. An error that no session raised (a request or
   * a file the pipeline refused before running anything) leaves the backend as it was.
   */
  private async runWithFallback<K extends ModelKind, T>(doing: string, kind: K, use: (model: NonNullable<Models[K]>) => Promise<T>): Promise<T> {
    const held = this.requireHeld(doing);
    if (this.deviceLost && held.backend === 'webgpu') await this.moveToWasm(this.deviceLost);
    const failuresBefore = this.runtimeFailures;
    try {
      return await use(await this.model(kind));
    } catch (e) {
      if (held.backend !== 'webgpu' || this.runtimeFailures === failuresBefore) throw e;
      await this.moveToWasm(`WebGPU failed while ${doing} (${messageOf(e)}). Running on WASM (slower).`);
      return use(await this.model(kind));
    }
  }

  /** The model of `kind`, opened on the held backend when it is not open yet. */
  private async model<K extends ModelKind>(kind: K): Promise<NonNullable<Models[K]>> {
    const held = this.requireHeld('opening models');
    const open = held[kind];
    if (open) return open as NonNullable<Models[K]>;
    if (holdsOneModelSetAtATime(held.pack.manifest, this.options.bothSetsBudgetBytes)) {
      // a large pack: the other set's weights leave the device before these arrive
      const other: ModelKind = kind === 'pipeline' ? 'personalizer' : 'pipeline';
      const closing = held[other];
      held[other] = undefined;
      await closing?.release().catch(() => undefined);
    }
    const runtime = await this.makeRuntime(held.backend, held.pack);
    // no WebGPU here at all: the runtime starts on WASM, and so does everything else
    if (runtime.backend !== held.backend) await this.moveToWasm(runtime.notice);
    const model = (await OPENERS[kind](this.watched(runtime), held.pack)) as NonNullable<Models[K]>;
    if (runtime.fellBack) {
      // WebGPU refused one graph: the ones opened on it before are reopened on WASM, so the
      // reported backend is the one every graph runs on
      await model.release().catch(() => undefined);
      await this.moveToWasm(runtime.notice);
      return this.model(kind);
    }
    (held as Models)[kind] = model as Models[K];
    return model;
  }

  private async moveToWasm(notice: string | undefined): Promise<void> {
    const held = this.requireHeld('switching to WASM');
    held.backend = 'wasm';
    held.notice = notice;
    await releaseAll(held);
  }

  private requireHeld(doing: string): Held {
    this.requirePack(doing);
    return this.held!;
  }

  /** The runtime with every failed session open or run counted (runWithFallback tells runtime errors apart by it). */
  private watched(runtime: BackendRuntime): Runtime {
    const counted = <T>(p: Promise<T>): Promise<T> =>
      p.catch((e: unknown) => {
        this.runtimeFailures++;
        throw e;
      });
    return {
      get backend() {
        return runtime.backend;
      },
      createSession: async (source): Promise<Session> => {
        const session = await counted(runtime.createSession(source));
        return {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          run: (feeds, outputs) => counted(session.run(feeds, outputs)),
          release: () => session.release(),
        };
      },
    };
  }
}

/** Releases the held models; one that cannot be released (a lost device) does not keep the others. */
async function releaseAll(models: Models): Promise<void> {
  const open = [models.pipeline, models.personalizer];
  models.pipeline = undefined;
  models.personalizer = undefined;
  await Promise.all(open.map((m) => m?.release().catch(() => undefined)));
}
