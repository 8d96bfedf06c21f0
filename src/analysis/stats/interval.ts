/**
 * Sample quantiles and the Student-t confidence interval of a mean, for the charts and the
 * analysis model (the one place these are computed).
 */
import { sampleMean, sampleVariance, sortedQuantileType7 } from './moments';
import { studentTQuantile } from './distributions';
import { requireConfidenceLevel, requireFiniteSample } from './validate';

/**
 * Sample quantile, Hyndman & Fan (1996) type 7 (R `quantile()` default, NumPy `percentile`).
 * @param x sample (units of the data), at least one finite value
 * @param p probability in [0, 1]
 * @throws Error when x is empty / non-finite or p is outside [0, 1]
 */
export function quantile(x: readonly number[], p: number): number {
  requireFiniteSample('quantile', 'x', x, 1);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`quantile: p must be a number in [0, 1] (got ${String(p)})`);
  return sortedQuantileType7([...x].sort((a, b) => a - b), p);
}

/** Mean with its two-sided Student-t interval; lower/upper/halfWidth are NaN when n < 2. */
export interface MeanInterval {
  n: number;
  mean: number;
  lower: number;
  upper: number;
  halfWidth: number;
  level: number;
}

/**
 * Two-sided Student-t confidence interval of the mean: mean ± t(1 − (1 − level)/2, n − 1)·sd/√n,
 * with the accurate t quantile of {@link studentTQuantile} (R `t.test(x)$conf.int`).
 * @param x sample (units of the data), at least one finite value; n = 1 gives NaN bounds
 * @param level confidence level in (0, 1), default 0.95
 * @throws Error for an empty or non-finite sample or a level outside (0, 1)
 */
export function meanInterval(x: readonly number[], level = 0.95): MeanInterval {
  requireFiniteSample('meanInterval', 'x', x, 1);
  requireConfidenceLevel('meanInterval', level);
  const n = x.length;
  const mean = sampleMean(x);
  if (n < 2) return { n, mean, lower: NaN, upper: NaN, halfWidth: NaN, level };
  const halfWidth = (studentTQuantile(1 - (1 - level) / 2, n - 1) * Math.sqrt(sampleVariance(x, mean))) / Math.sqrt(n);
  return { n, mean, lower: mean - halfWidth, upper: mean + halfWidth, halfWidth, level };
}
