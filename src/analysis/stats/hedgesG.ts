import { normalQuantile } from './distributions';
import { jStat } from './jstat';
import { sampleMean, sampleVariance } from './moments';
import type { ConfidenceInterval } from './types';
import { requireConfidenceLevel, requireFiniteSample, show } from './validate';

export interface HedgesGOptions {
  /** Confidence level of `ci` (default 0.95). */
  confidenceLevel?: number;
  /**
   * Small-sample correction factor J (default 'approximate'):
   * 'approximate': J = 1 - 3/(4(nA + nB) - 9) (Hedges 1981, eq. 6e; used by R effsize/metafor);
   * 'exact': J = Gamma(m/2) / (sqrt(m/2) Gamma((m - 1)/2)), m = nA + nB - 2 (Hedges 1981, eq. 6b).
   * They differ by < 1e-3 relative for nA + nB >= 8.
   */
  correction?: 'approximate' | 'exact';
}

export interface HedgesGResult {
  /** Hedges' g = J d (bias-corrected standardized mean difference of A - B). */
  g: number;
  /** Cohen's d = (meanA - meanB) / pooled SD (uncorrected). */
  d: number;
  /** The correction factor J used. */
  j: number;
  /** Large-sample standard error of g (Hedges & Olkin 1985), see the function docs. */
  se: number;
  /** Normal-approximation confidence interval g -/+ z se. */
  ci: ConfidenceInterval;
  nA: number;
  nB: number;
  confidenceLevel: number;
  correction: 'approximate' | 'exact';
}

/**
 * Hedges' g effect size of A versus B (positive when mean(A) > mean(B)), in units of the pooled
 * standard deviation.
 *
 * Method: pooled SD s_p = sqrt(((nA-1) sA^2 + (nB-1) sB^2) / (nA + nB - 2)), d = (meanA - meanB)/s_p,
 * g = J d with J as in {@link HedgesGOptions.correction} (default: the approximation
 * 1 - 3/(4(nA+nB) - 9)); variance by the large-sample normal approximation of Hedges & Olkin
 * (1985, "Statistical Methods for Meta-Analysis", ch. 5, eq. 14) with g plugged in:
 *   Var(g) = (nA + nB)/(nA nB) + g^2 / (2 (nA + nB)),
 * CI = g -/+ z_{(1+cl)/2} sqrt(Var(g)).
 * Reference values: scripts/fixtures/stats_scipy.py rebuilds d from SciPy's pooled t statistic
 * (d = t sqrt(1/nA + 1/nB)) and applies the published formulas (R `effsize` is not installed; note
 * that effsize::cohen.d's CI uses a t quantile and a different variance, so it would not match).
 *
 * Edge cases:
 * @throws Error if a sample has fewer than 2 values or a non-finite value (J needs nA + nB >= 4 and
 * each SD needs n >= 2), if the pooled SD is 0 (every value identical within each sample — the
 * standardized difference is undefined), or for invalid options.
 */
export function hedgesG(a: readonly number[], b: readonly number[], options: HedgesGOptions = {}): HedgesGResult {
  const fn = 'hedgesG';
  requireFiniteSample(fn, 'a', a, 2);
  requireFiniteSample(fn, 'b', b, 2);
  const confidenceLevel = requireConfidenceLevel(fn, options.confidenceLevel ?? 0.95);
  const correction = options.correction ?? 'approximate';
  if (correction !== 'approximate' && correction !== 'exact') {
    throw new Error(`${fn}: correction must be 'approximate' or 'exact' (got ${show(correction)})`);
  }
  const nA = a.length;
  const nB = b.length;
  const meanA = sampleMean(a);
  const meanB = sampleMean(b);
  const pooledVar = ((nA - 1) * sampleVariance(a, meanA) + (nB - 1) * sampleVariance(b, meanB)) / (nA + nB - 2);
  if (pooledVar === 0) {
    throw new Error(`${fn}: the pooled standard deviation is 0 (a = ${show(a)}, b = ${show(b)} are constant), so the standardized mean difference is undefined`);
  }
  const d = (meanA - meanB) / Math.sqrt(pooledVar);
  const m = nA + nB - 2;
  const j = correction === 'approximate'
    ? 1 - 3 / (4 * (nA + nB) - 9)
    : Math.exp(jStat.loggam(m / 2) - jStat.loggam((m - 1) / 2)) / Math.sqrt(m / 2);
  const g = j * d;
  const se = Math.sqrt((nA + nB) / (nA * nB) + (g * g) / (2 * (nA + nB)));
  const z = normalQuantile((1 + confidenceLevel) / 2);
  return { g, d, j, se, ci: [g - z * se, g + z * se], nA, nB, confidenceLevel, correction };
}
