/**
 * Small numeric helpers of the chart builders (internal; not re-exported from the package to avoid
 * clashing with the statistics module's names).
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { jStat } = require('jstat') as { jStat: { studentt: { inv(p: number, dof: number): number } } };

/** Rounds away binary floating-point noise (e.g. 8.979999999999999 -> 8.98) while keeping 10 decimals. */
export function clean(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e10) / 1e10 : x;
}

/**
 * Sample quantile with linear interpolation between order statistics (Hyndman & Fan type 7, the
 * default of R's `quantile` and NumPy's `percentile`): h = (n - 1) p, Q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
 */
export function quantile7(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sample standard deviation (n - 1 denominator); NaN for fewer than two values. */
export function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return NaN;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** Two-sided Student-t confidence interval of the mean: mean +- t(1 - (1 - level)/2, n - 1) * sd / sqrt(n). */
export function meanConfidenceInterval(values: readonly number[], level = 0.95): { mean: number; lower: number; upper: number; halfWidth: number; n: number } {
  const n = values.length;
  const m = mean(values);
  if (n < 2) return { mean: m, lower: NaN, upper: NaN, halfWidth: NaN, n };
  const t = jStat.studentt.inv(1 - (1 - level) / 2, n - 1);
  const halfWidth = (t * sampleSd(values)) / Math.sqrt(n);
  return { mean: m, lower: m - halfWidth, upper: m + halfWidth, halfWidth, n };
}

/** Tukey box statistics with type-7 quartiles; whiskers (fences) at the most extreme data within 1.5 IQR. */
export function boxStats(values: readonly number[]): { q1: number; median: number; q3: number; lowerfence: number; upperfence: number; mean: number } {
  const q1 = quantile7(values, 0.25);
  const median = quantile7(values, 0.5);
  const q3 = quantile7(values, 0.75);
  const iqr = q3 - q1;
  const inside = values.filter((v) => v >= q1 - 1.5 * iqr && v <= q3 + 1.5 * iqr);
  return {
    q1,
    median,
    q3,
    lowerfence: Math.min(...inside),
    upperfence: Math.max(...inside),
    mean: mean(values),
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
