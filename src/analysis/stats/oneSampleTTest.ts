import { sampleMean, sampleVariance } from './moments';
import { tConfidenceInterval, tPValue } from './tTestCommon';
import type { ConfidenceInterval, TestAlternative } from './types';
import { requireAlternative, requireConfidenceLevel, requireFiniteSample } from './validate';

export interface OneSampleTTestOptions {
  /** Alternative hypothesis about mean(x) - mu (default 'two-sided'). */
  alternative?: TestAlternative;
  /** Confidence level of `ci` (default 0.95). */
  confidenceLevel?: number;
}

export interface OneSampleTTestResult {
  /** t = (mean - mu) / (s / sqrt(n)); +-Infinity for a constant sample whose value differs from mu. */
  t: number;
  /** n - 1. */
  df: number;
  p: number;
  mean: number;
  /** The hypothesised mean. */
  mu: number;
  /** Standard error s / sqrt(n). */
  se: number;
  /** Confidence interval of the mean (not of mean - mu), one-sided for one-sided alternatives. */
  ci: ConfidenceInterval;
  n: number;
  alternative: TestAlternative;
  confidenceLevel: number;
  /** Present only for a constant sample (see the function docs). */
  note?: string;
}

/**
 * One-sample Student t-test of H0: mean(x) = mu — e.g. whether an arm's final test errors differ
 * from the paper's 8.75 % (x as fractions, mu = 0.0875).
 *
 * Method: t = (mean - mu) / (s/sqrt(n)), df = n - 1, p from the Student t CDF, CI of the mean
 * mean -/+ t_{q, n-1} s/sqrt(n). Reference implementation: `scipy.stats.ttest_1samp(x, mu,
 * alternative=...)` and its `.confidence_interval(confidence_level)`; R `t.test(x, mu = mu)`.
 *
 * Edge cases (documented, never NaN):
 * - Constant sample (s = 0, detected exactly) with mean != mu: t = +-Infinity, p = 0 ('two-sided'
 *   and the alternative in the observed direction; 1 for the other), ci = the point `mean`
 *   (with the infinite end if one-sided). SciPy gives the same for exactly representable values.
 * - Constant sample with mean == mu: t = 0, p = 1 with a `note` (SciPy: NaN).
 *
 * @throws Error if `x` has fewer than 2 values or a non-finite value, `mu` is not a finite number,
 * or the options are invalid.
 */
export function oneSampleTTest(x: readonly number[], mu: number, options: OneSampleTTestOptions = {}): OneSampleTTestResult {
  const fn = 'oneSampleTTest';
  requireFiniteSample(fn, 'x', x, 2);
  if (typeof mu !== 'number' || !Number.isFinite(mu)) throw new Error(`${fn}: mu must be a finite number (got ${String(mu)})`);
  const alternative = requireAlternative(fn, options.alternative ?? 'two-sided');
  const confidenceLevel = requireConfidenceLevel(fn, options.confidenceLevel ?? 0.95);
  const n = x.length;
  const df = n - 1;
  const mean = sampleMean(x);
  const se = Math.sqrt(sampleVariance(x, mean) / n);
  const d = mean - mu;
  const base = { df, mean, mu, se, n, alternative, confidenceLevel, ci: tConfidenceInterval(mean, se, df, alternative, confidenceLevel) };
  if (se === 0) {
    if (d === 0) return { ...base, t: 0, p: 1, note: 'constant sample equal to mu: t is 0/0, reported as t = 0, p = 1 (SciPy: NaN)' };
    const t = d > 0 ? Infinity : -Infinity;
    return { ...base, t, p: tPValue(t, df, alternative), note: 'constant sample (zero variance) different from mu: t = ±Infinity' };
  }
  const t = d / se;
  return { ...base, t, p: tPValue(t, df, alternative) };
}
