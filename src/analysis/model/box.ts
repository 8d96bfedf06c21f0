/** Box statistics of a sample, as the time-to-target figures draw them (precomputed, so the data are explicit). */
import { describe } from '../stats/describe';

/** A box of a box plot: quartiles, Tukey fences and the mean, in the sample's units. */
export interface BoxStats {
  q1: number;
  median: number;
  q3: number;
  /** Most extreme values within 1.5 IQR of the quartiles (Tukey whiskers). */
  lowerfence: number;
  upperfence: number;
  mean: number;
}

/**
 * Tukey box statistics with type-7 quartiles (analysis/stats describe); whiskers (fences) at the most
 * extreme data within 1.5 IQR.
 * @param values a non-empty sample
 */
export function boxStats(values: readonly number[]): BoxStats {
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
