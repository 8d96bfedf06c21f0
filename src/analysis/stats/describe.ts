import { sampleMean, sampleVariance, sortedQuantileType7 } from './moments';
import { requireFiniteSample } from './validate';

export interface DescribeResult {
  n: number;
  mean: number;
  /** Middle value (average of the two middle values for even n). */
  median: number;
  /** Sample standard deviation (n - 1 denominator); null when n = 1 (undefined). */
  sd: number | null;
  min: number;
  max: number;
  /** First quartile, R `quantile(type = 7)` / NumPy `percentile(x, 25)`. */
  q1: number;
  /** Third quartile, R type 7 / NumPy `percentile(x, 75)`. */
  q3: number;
}

/**
 * Descriptive summary of a sample (units of the data).
 *
 * Quantiles use linear interpolation between order statistics, Hyndman & Fan (1996) type 7 — the
 * default of R `quantile()` and NumPy `percentile()`/`median()`; sd uses n - 1 (R `sd`, NumPy
 * `std(ddof=1)`).
 *
 * Edge cases: n = 1 gives sd = null (documented; every other field is that value).
 * @throws Error when `x` is empty or contains a non-finite value.
 */
export function describe(x: readonly number[]): DescribeResult {
  requireFiniteSample('describe', 'x', x, 1);
  const sorted = [...x].sort((p, q) => p - q);
  const mean = sampleMean(x);
  return {
    n: x.length,
    mean,
    median: sortedQuantileType7(sorted, 0.5),
    sd: x.length > 1 ? Math.sqrt(sampleVariance(x, mean)) : null,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    q1: sortedQuantileType7(sorted, 0.25),
    q3: sortedQuantileType7(sorted, 0.75),
  };
}
