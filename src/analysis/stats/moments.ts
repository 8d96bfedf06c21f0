/**
 * Sample moments used by the tests and `describe`. Kept internal (the charts module exports its own
 * `mean`, so these are not re-exported, to avoid a name clash in `src/index.ts`).
 *
 * @internal
 */

/** True when every entry equals the first (exactly). */
export function isConstant(x: readonly number[]): boolean {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return false;
  return true;
}

/** Arithmetic mean (plain left-to-right sum / n); for a constant sample returns that value exactly. */
export function sampleMean(x: readonly number[]): number {
  if (isConstant(x)) return x[0];
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

/**
 * Unbiased sample variance sum((x - mean)^2) / (n - 1), two-pass. Exactly 0 for a constant sample
 * (NumPy can return ~1e-34 there because its mean is off by an ulp, e.g. [0.09, 0.09, 0.09]; see
 * the edge-case notes of welchTTest / oneSampleTTest). Caller guarantees n >= 2.
 */
export function sampleVariance(x: readonly number[], mean = sampleMean(x)): number {
  if (isConstant(x)) return 0;
  let ss = 0;
  for (const v of x) ss += (v - mean) * (v - mean);
  return ss / (x.length - 1);
}

/**
 * Quantile of an ascending-sorted sample by linear interpolation between order statistics,
 * Hyndman & Fan (1996) type 7 = R `quantile(type = 7)` = NumPy `percentile(method='linear')`:
 * h = (n - 1) p, Q = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
 */
export function sortedQuantileType7(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  if (lo >= sorted.length - 1) return sorted[sorted.length - 1];
  const frac = h - lo;
  const a = sorted[lo];
  const b = sorted[lo + 1];
  return frac === 0 ? a : a + frac * (b - a);
}
