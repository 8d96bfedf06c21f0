/**
 * Small display helpers of the chart builders (rounding, jitter, ticks, box fences). Every
 * statistic (mean, SD, quantiles, t intervals) comes from analysis/stats.
 */
import { describe } from '../stats/describe';

/** Rounds away binary floating-point noise (e.g. 8.979999999999999 -> 8.98) while keeping 10 decimals. */
export function clean(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e10) / 1e10 : x;
}

/** Tukey box statistics with type-7 quartiles; whiskers (fences) at the most extreme data within 1.5 IQR. */
export function boxStats(values: readonly number[]): { q1: number; median: number; q3: number; lowerfence: number; upperfence: number; mean: number } {
  const d = describe(values);
  const { q1, median, q3 } = d;
  const iqr = q3 - q1;
  const inside = values.filter((v) => v >= q1 - 1.5 * iqr && v <= q3 + 1.5 * iqr);
  return {
    q1,
    median,
    q3,
    lowerfence: Math.min(...inside),
    upperfence: Math.max(...inside),
    mean: d.mean,
  };
}

/** Deterministic jitter in [-width/2, width/2] from a string key (FNV-1a hash), so figures are reproducible. */
export function jitterFor(key: string, width: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h / 0xffffffff - 0.5) * width;
}

/** A "nice" tick step (1, 2, 2.5, 5 x 10^k) giving roughly `targetTicks` ticks over `span`. */
export function niceStep(span: number, targetTicks = 10): number {
  if (!(span > 0)) return 1;
  const raw = span / targetTicks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

/** Formats a number for legends / hover text without float noise. */
export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return String(x);
  return Number(x.toFixed(digits)).toString();
}
