// Faults the e2e tests cause on purpose, through window.__hyperbooth.api: they reach only what
// the page could end itself (its own worker, its own GPU device), so they are in every build.
export interface WorkerFaultHooks {
  /**
   * The next generate step throws an error nothing catches, as a crashing worker does. It is
   * armed ahead because a busy worker reads no messages: a denoising loop yields to microtasks
   * only, so a message sent mid-generate would arrive after it.
   */
  crashAtNextStepForTest(): Promise<void>;
}

let crashArmed = false;

export const faultHooks: WorkerFaultHooks = {
  async crashAtNextStepForTest() {
    crashArmed = true;
  },
};

/** Called at each generate step: throws the armed crash where no promise can catch it. */
export function crashIfArmed(): void {
  if (!crashArmed) return;
  crashArmed = false;
  queueMicrotask(() => {
    throw new Error('crash caused by the test hook');
  });
}
