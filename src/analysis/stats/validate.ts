/**
 * Argument checks shared by the statistics functions. Every failure throws an `Error` whose message
 * names the function, the argument and the offending value, e.g.
 * `welchTTest: a must contain at least 2 values (got 1)`.
 *
 * @internal Not re-exported from `src/analysis/stats/index.ts`.
 */
import type { TestAlternative } from './types';

/** Formats a value for an error message (arrays are abbreviated). */
export function show(value: unknown): string {
  if (Array.isArray(value)) {
    const head = value.slice(0, 6).map((v) => show(v)).join(', ');
    return `[${head}${value.length > 6 ? `, ... (${value.length} values)` : ''}]`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/**
 * Checks that `x` is an array of finite numbers with at least `minLength` entries.
 * @throws Error when `x` is not an array, is too short, or holds a non-number / NaN / +-Infinity.
 */
export function requireFiniteSample(fn: string, name: string, x: unknown, minLength: number): asserts x is number[] {
  if (!Array.isArray(x)) throw new Error(`${fn}: ${name} must be an array of numbers (got ${show(x)})`);
  if (x.length < minLength) {
    throw new Error(`${fn}: ${name} must contain at least ${minLength} value${minLength === 1 ? '' : 's'} (got ${x.length})`);
  }
  for (let i = 0; i < x.length; i++) {
    const v: unknown = x[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${fn}: ${name}[${i}] must be a finite number (got ${show(v)})`);
    }
  }
}

/** Checks `0 < level < 1` and returns it. @throws Error otherwise. */
export function requireConfidenceLevel(fn: string, level: unknown): number {
  if (typeof level !== 'number' || !(level > 0 && level < 1)) {
    throw new Error(`${fn}: confidenceLevel must be a number strictly between 0 and 1 (got ${show(level)})`);
  }
  return level;
}

/** Checks the `alternative` option and returns it. @throws Error for anything else. */
export function requireAlternative(fn: string, alternative: unknown): TestAlternative {
  if (alternative === 'two-sided' || alternative === 'less' || alternative === 'greater') return alternative;
  throw new Error(`${fn}: alternative must be 'two-sided', 'less' or 'greater' (got ${show(alternative)})`);
}

/**
 * Checks the event indicator array of a survival data set: same length as `times`, every entry 0
 * (censored) or 1 (event). @throws Error naming the first bad entry.
 */
export function requireEvents(fn: string, name: string, events: unknown, n: number): asserts events is (0 | 1)[] {
  if (!Array.isArray(events)) throw new Error(`${fn}: ${name} must be an array of 0/1 (got ${show(events)})`);
  if (events.length !== n) {
    throw new Error(`${fn}: ${name} must have the same length as the times (${n}), got ${events.length}`);
  }
  for (let i = 0; i < events.length; i++) {
    const v: unknown = events[i];
    if (v !== 0 && v !== 1) throw new Error(`${fn}: ${name}[${i}] must be 0 (censored) or 1 (event) (got ${show(v)})`);
  }
}
