import { sampleMean, sampleVariance } from './moments';
import { tConfidenceInterval, tPValue } from './tTestCommon';
import type { ConfidenceInterval, TestAlternative } from './types';
import { requireAlternative, requireConfidenceLevel, requireFiniteSample } from './validate';

export interface WelchTTestOptions {
  /** Alternative hypothesis about meanA - meanB (default 'two-sided'). */
  alternative?: TestAlternative;
  /** Confidence level of `ci` (default 0.95). */
  confidenceLevel?: number;
}

export interface WelchTTestResult {
  /** t = (meanA - meanB) / se; +-Infinity when both samples are constant with different means. */
  t: number;
  /** Welch–Satterthwaite degrees of freedom (non-integer). */
  df: number;
  /** p-value for `alternative`. */
  p: number;
  meanA: number;
  meanB: number;
  /** meanA - meanB (units of the data). */
  meanDifference: number;
  /** Standard error sqrt(sA^2/nA + sB^2/nB) of the mean difference. */
  se: number;
  /** Confidence interval of meanA - meanB at `confidenceLevel`, one-sided for one-sided alternatives. */
  ci: ConfidenceInterval;
  nA: number;
  nB: number;
  alternative: TestAlternative;
  confidenceLevel: number;
  /** Present only for the degenerate zero-variance cases (see the function docs). */
  note?: string;
}

/**
 * Welch's unequal-variance two-sample t-test of H0: mean(A) = mean(B).
 *
 * Inputs: `a`, `b` — samples (any unit, e.g. test error as a fraction or epochs), each with at
 * least 2 finite values; sizes may differ.
 *
 * Method (Welch 1947; Satterthwaite 1946): vA = sA^2/nA, vB = sB^2/nB (sample variances with n - 1),
 * se = sqrt(vA + vB), t = (meanA - meanB)/se,
 * df = (vA + vB)^2 / (vA^2/(nA - 1) + vB^2/(nB - 1)); p from the Student t CDF
 * (see distributions.ts); CI = (meanA - meanB) -/+ t_{q, df} se.
 * Reference implementation: `scipy.stats.ttest_ind(a, b, equal_var=False, alternative=...)`
 * (t, p; and `.df` / `.confidence_interval(confidence_level)` in SciPy >= 1.11); R
 * `t.test(a, b, var.equal = FALSE)` gives the same t, df, p and two-sided CI.
 *
 * Edge cases (documented results, never NaN):
 * - Both samples constant (se = 0) with different means: t = +-Infinity, p = 0 for 'two-sided'
 *   and for the one-sided alternative pointing the observed way (1 for the other), df = 1 and
 *   ci = the point meanA - meanB (one-sided: with the infinite end) — exactly SciPy's answer
 *   (SciPy replaces the undefined 0/0 df by 1). A `note` is set.
 * - Both samples constant with equal means: t = 0, p = 1, df = 1, ci at 0, with a `note`
 *   (SciPy returns NaN here).
 * - A constant sample is detected exactly (all values identical), so its variance is exactly 0;
 *   NumPy may instead produce a variance of ~1e-34 from rounding in the mean (e.g. [0.09, 0.09,
 *   0.09]) and hence a huge finite t where this function reports +-Infinity.
 * - Only one sample constant: no special case (df = n - 1 of the other sample).
 *
 * @throws Error if `a` or `b` is not an array of finite numbers with at least 2 entries, if
 * `alternative` is not one of 'two-sided' | 'less' | 'greater', or `confidenceLevel` is not in (0, 1).
 */
export function welchTTest(a: readonly number[], b: readonly number[], options: WelchTTestOptions = {}): WelchTTestResult {
  const fn = 'welchTTest';
  requireFiniteSample(fn, 'a', a, 2);
  requireFiniteSample(fn, 'b', b, 2);
  const alternative = requireAlternative(fn, options.alternative ?? 'two-sided');
  const confidenceLevel = requireConfidenceLevel(fn, options.confidenceLevel ?? 0.95);
  const nA = a.length;
  const nB = b.length;
  const meanA = sampleMean(a);
  const meanB = sampleMean(b);
  const vA = sampleVariance(a, meanA) / nA;
  const vB = sampleVariance(b, meanB) / nB;
  const d = meanA - meanB;
  const se = Math.sqrt(vA + vB);
  const base = { meanA, meanB, meanDifference: d, se, nA, nB, alternative, confidenceLevel };
  if (se === 0) {
    const df = 1;
    const ci = tConfidenceInterval(d, 0, df, alternative, confidenceLevel);
    if (d === 0) {
      return { ...base, t: 0, df, p: 1, ci, note: 'both samples are constant and equal: t is 0/0, reported as t = 0, p = 1 (SciPy: NaN)' };
    }
    const t = d > 0 ? Infinity : -Infinity;
    return { ...base, t, df, p: tPValue(t, df, alternative), ci, note: 'both samples are constant with different means: t = ±Infinity; df (0/0) reported as 1, as SciPy does' };
  }
  const df = (vA + vB) ** 2 / ((vA * vA) / (nA - 1) + (vB * vB) / (nB - 1));
  const t = d / se;
  return { ...base, t, df, p: tPValue(t, df, alternative), ci: tConfidenceInterval(d, se, df, alternative, confidenceLevel) };
}
