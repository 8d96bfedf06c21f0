import { normalSf } from './distributions';
import type { TestAlternative } from './types';
import { requireAlternative, requireFiniteSample, show } from './validate';

export interface MannWhitneyUOptions {
  /** 'less': A tends to be smaller than B; 'greater': larger; default 'two-sided'. */
  alternative?: TestAlternative;
  /** Continuity correction of 0.5 (default true, SciPy's `use_continuity=True`). */
  continuity?: boolean;
}

export interface MannWhitneyUResult {
  /** U statistic of the first sample: R1 - nA(nA+1)/2 (R1 = rank sum of `a`, mid-ranks for ties). */
  u: number;
  /** Asymptotic p-value. */
  p: number;
  /** The standardized statistic whose normal survival function gives p (before doubling). */
  z: number;
  nA: number;
  nB: number;
  alternative: TestAlternative;
  /** Present only when every observation is tied (see the function docs). */
  note?: string;
}

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test, large-sample normal approximation with tie and
 * continuity corrections — exactly `scipy.stats.mannwhitneyu(a, b, alternative=...,
 * method="asymptotic", use_continuity=True)` (SciPy >= 1.7); also R `wilcox.test(a, b,
 * exact = FALSE, correct = TRUE)` (R's W equals this U).
 *
 * Method (SciPy `_mwu`): mid-ranks of the pooled sample, U1 = R1 - nA(nA+1)/2, U2 = nA nB - U1;
 * U = U1 ('greater'), U2 ('less') or max(U1, U2) ('two-sided', p doubled);
 * sigma = sqrt(nA nB/12 ((n + 1) - sum(t^3 - t)/(n (n - 1)))) over tie groups of size t, n = nA + nB;
 * z = (U - nA nB/2 - 0.5)/sigma (0.5 only with the continuity correction); p = min(1, f * (1 - Phi(z))).
 * Inputs can be in any unit (only ranks matter).
 *
 * Edge cases:
 * - Every observation tied (sigma = 0): p = 1, z = 0 and a `note` (SciPy gives p = 1 with the
 *   continuity correction and NaN without it).
 * @throws Error if `a` or `b` is empty or holds a non-finite value, or for invalid options.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[], options: MannWhitneyUOptions = {}): MannWhitneyUResult {
  const fn = 'mannWhitneyU';
  requireFiniteSample(fn, 'a', a, 1);
  requireFiniteSample(fn, 'b', b, 1);
  const alternative = requireAlternative(fn, options.alternative ?? 'two-sided');
  const continuity = options.continuity ?? true;
  if (typeof continuity !== 'boolean') throw new Error(`${fn}: continuity must be a boolean (got ${show(continuity)})`);
  const nA = a.length;
  const nB = b.length;
  const n = nA + nB;
  const pooled = [...a.map((v) => ({ v, first: true })), ...b.map((v) => ({ v, first: false }))];
  pooled.sort((x, y) => x.v - y.v);
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1].v === pooled[i].v) j++;
    const rank = (i + j + 2) / 2; // mid-rank of positions i..j (1-based)
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if (pooled[k].first) rankSumA += rank;
    i = j + 1;
  }
  const u1 = rankSumA - (nA * (nA + 1)) / 2;
  const u2 = nA * nB - u1;
  const [u, f] = alternative === 'greater' ? [u1, 1] : alternative === 'less' ? [u2, 1] : [Math.max(u1, u2), 2];
  const varTerm = n + 1 - tieTerm / (n * (n - 1));
  if (!(varTerm > 0)) {
    return { u: u1, p: 1, z: 0, nA, nB, alternative, note: 'all observations are tied: the rank statistic carries no information (p = 1)' };
  }
  const sigma = Math.sqrt(((nA * nB) / 12) * varTerm);
  const z = (u - (nA * nB) / 2 - (continuity ? 0.5 : 0)) / sigma;
  const p = Math.min(1, Math.max(0, f * normalSf(z)));
  return { u: u1, p, z, nA, nB, alternative };
}
