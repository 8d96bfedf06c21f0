/**
 * Shared pieces of the t-tests: p-value and confidence interval from (t, df, alternative), with the
 * conventions of SciPy's `_ttest_finish` and `_t_confidence_interval`.
 *
 * @internal
 */
import { studentTCdf, studentTQuantile } from './distributions';
import type { ConfidenceInterval, TestAlternative } from './types';

/**
 * p-value of a t statistic: 'less' -> P(T <= t); 'greater' -> P(T >= t); 'two-sided' ->
 * 2 P(T <= -|t|) (SciPy `_ttest_finish`, via `scipy.special.stdtr`). t may be +-Infinity.
 */
export function tPValue(t: number, df: number, alternative: TestAlternative): number {
  if (alternative === 'less') return studentTCdf(t, df);
  if (alternative === 'greater') return studentTCdf(-t, df);
  return Math.min(1, 2 * studentTCdf(-Math.abs(t), df));
}

/**
 * Confidence interval estimate -/+ q * se consistent with the alternative (SciPy >= 1.10
 * `TtestResult.confidence_interval`): two-sided uses q = t_{(1+cl)/2, df} on both ends; 'less'
 * gives (-Infinity, estimate + t_{cl, df} se]; 'greater' gives [estimate - t_{cl, df} se, +Infinity).
 * se = 0 gives a degenerate interval at the estimate.
 */
export function tConfidenceInterval(estimate: number, se: number, df: number, alternative: TestAlternative, confidenceLevel: number): ConfidenceInterval {
  if (alternative === 'less') return [-Infinity, estimate + studentTQuantile(confidenceLevel, df) * se];
  if (alternative === 'greater') return [estimate - studentTQuantile(confidenceLevel, df) * se, Infinity];
  const q = studentTQuantile((1 + confidenceLevel) / 2, df);
  return [estimate - q * se, estimate + q * se];
}
