// The worker's queue: calls run one at a time in call order, a failed call does not block the
// next, and a cancel reaches a call that is waiting or running without queueing behind it.
import { describe, expect, test } from 'vitest';
import { TaskQueue } from '../../../workers/taskQueue';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('TaskQueue', () => {
  test('one at a time, in order; a failure passes to its caller only', async () => {
    const q = new TaskQueue();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, fail = false) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    const results = await Promise.allSettled([q.run(job('a')), q.run(job('b', true)), q.run(job('c'))]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a', 'b failed', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  test('a cancel reaches the call it was meant for, not the ones made after it', async () => {
    const q = new TaskQueue();
    const blocker = q.run(tick);
    const signal = q.cancelSignal();
    const seen = q.run(async () => {
      await tick();
      return signal();
    });
    q.cancelRunning();
    const later = q.cancelSignal();
    await blocker;
    expect(await seen).toBe(true);
    expect(later()).toBe(false);
  });
});
