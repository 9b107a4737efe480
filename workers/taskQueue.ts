// The worker's one queue: ORT sessions take one run at a time, and a pack swap must not race a
// generate. It also carries personalize's cancel signal, which must not wait in the queue.
export class TaskQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** cancelPersonalize() bumps it; a personalize() stops when it differs from its value at the call */
  private cancelEpoch = 0;

  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Not queued: it must reach a personalize() that is running (or waiting) in the queue. */
  cancelRunning(): void {
    this.cancelEpoch++;
  }

  /** true once cancelRunning() was called after this */
  cancelSignal(): () => boolean {
    const epoch = this.cancelEpoch;
    return () => this.cancelEpoch !== epoch;
  }
}
