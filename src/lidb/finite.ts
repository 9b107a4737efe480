// Every imported weight file ends with its values checked as the app will use them: finite,
// and (where a later product could overflow float32) within a bound that keeps it finite.

/** The first index whose value is not finite or exceeds `maxAbs` in magnitude, or -1. */
export function firstOutOfRange(values: ArrayLike<number>, maxAbs = Infinity): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || Math.abs(v) > maxAbs) return i;
  }
  return -1;
}

/**
 * `'<name> holds <v> at index <i>'`, or undefined when every value is in range; `why` says what
 * a finite value beyond ±maxAbs would break.
 */
export function outOfRangeMessage(name: string, values: ArrayLike<number>, maxAbs = Infinity, why = ''): string | undefined {
  const i = firstOutOfRange(values, maxAbs);
  if (i < 0) return undefined;
  const v = values[i];
  return `${name} holds ${v} at index ${i}${Number.isFinite(v) ? `, beyond ±${maxAbs}${why ? `: ${why}` : ''}` : ''}`;
}
