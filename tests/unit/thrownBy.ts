// Shared by the fault tests: the typed error a call throws, failing the test when it throws
// something else or nothing at all.
import { expect } from 'vitest';

export function thrownBy<T extends Error>(type: abstract new (...args: never[]) => T, f: () => unknown): T {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return e as T;
  }
  throw new Error(`expected a ${type.name}, but the call returned`);
}
