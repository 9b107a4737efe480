// Faults the e2e tests cause on purpose, through window.__hyperbooth.api: they reach only what
// the page could end itself (its own worker, its own GPU device), so they are in every build.
import { destroyWebgpuDevice } from '../src/runtime/webgpuDevice';

export interface WorkerFaultHooks {
  /**
   * The next generate step throws an error nothing catches, as a crashing worker does. It is
   * armed ahead because a busy worker reads no messages: a denoising loop yields to microtasks
   * only, so a message sent mid-generate would arrive after it.
   */
  crashAtNextStepForTest(): Promise<void>;
  /** destroys the GPU device the models run on, as a GPU reset would; false when they are not on WebGPU */
  destroyGpuDeviceForTest(): Promise<boolean>;
  /**
   * The next checkpoint import waits, its pack folder already made, until it is cancelled: a
   * miniature converts in about a second, faster than a click can be relied on to land mid-way.
   */
  holdNextImportForTest(): Promise<void>;
}

let crashArmed = false;
let importHoldArmed = false;

/** The hooks, given what they need from the worker: whether its models are on WebGPU. */
export function faultHooks(onWebgpu: () => boolean): WorkerFaultHooks {
  return {
    async crashAtNextStepForTest() {
      crashArmed = true;
    },
    async destroyGpuDeviceForTest() {
      if (!onWebgpu()) return false;
      await destroyWebgpuDevice();
      return true;
    },
    async holdNextImportForTest() {
      importHoldArmed = true;
    },
  };
}

/** Called by an import once its folder exists: when armed, waits for the cancel that ends it. */
export async function holdImportIfArmed(signal: AbortSignal): Promise<void> {
  if (!importHoldArmed) return;
  importHoldArmed = false;
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  signal.throwIfAborted();
}

/** Called at each generate step: throws the armed crash where no promise can catch it. */
export function crashIfArmed(): void {
  if (!crashArmed) return;
  crashArmed = false;
  queueMicrotask(() => {
    throw new Error('crash caused by the test hook');
  });
}
