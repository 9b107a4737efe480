// How every action that keeps the worker busy runs: one task at a time, the last error cleared,
// the store marked busy, a failure shown in the store (never thrown at a component), and the
// task cleared at the end however it went.
import { useAppStore, type Task } from './store';

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export interface TaskOptions {
  /** the sentence shown when the task fails, from the error's message */
  failure: (why: string) => string;
  /** when set, the task does not start and this sentence becomes the error (a field or file the action refuses) */
  refusal?: string;
  /** a new action makes the last warning stale as well */
  clearWarning?: boolean;
  /** report a failure as a warning and leave the error alone (a convenience that did not work out) */
  asWarning?: boolean;
  /** runs after a failure, before it is shown */
  onFailure?: () => void;
  /** runs at the end, after success or failure, before the task is cleared */
  cleanup?: () => void;
}

/**
 * Runs `body` as `task` unless another task is running. Returns what the body returned, or
 * undefined when the task did not start or failed (the store then says why).
 */
export async function runTask<T>(task: Task, options: TaskOptions, body: () => Promise<T>): Promise<T | undefined> {
  const store = useAppStore.getState();
  if (store.task) return undefined;
  if (!options.asWarning) store.setError(null);
  if (options.clearWarning) store.setWarning(null);
  if (options.refusal !== undefined) {
    store.setError(options.refusal);
    return undefined;
  }
  store.setTask(task);
  try {
    return await body();
  } catch (e) {
    options.onFailure?.();
    const message = options.failure(errorText(e));
    if (options.asWarning) useAppStore.getState().setWarning(message);
    else useAppStore.getState().setError(message);
    return undefined;
  } finally {
    options.cleanup?.();
    useAppStore.getState().setTask(null);
  }
}
