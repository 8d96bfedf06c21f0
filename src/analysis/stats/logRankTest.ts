import { chiSquareSf } from './distributions';
import { fixNearlyTiedTimes } from './survivalTimes';
import { requireEvents, requireFiniteSample, show } from './validate';

export interface LogRankGroup {
  /** Time of each observation (e.g. epochs to reach the target, or the censoring epoch). */
  times: readonly number[];
  /** 1 = event (target reached), 0 = censored. */
  events: readonly (0 | 1)[];
}

export interface LogRankOptions {
  /** Merge nearly equal times like R's `timefix = TRUE` (default true). */
  timefix?: boolean;
}

export interface LogRankResult {
  /** Log-rank chi-square statistic (O - E)' V^- (O - E). */
  chiSquare: number;
  /** Degrees of freedom: (number of groups with expected > 0) - 1. */
  df: number;
  /** Upper-tail chi-square p-value. */
  p: number;
  /** Observed number of events per group (input order). */
  observed: number[];
  /** Expected number of events per group under H0 (input order). */
  expected: number[];
  /** Covariance matrix of observed - expected (R survdiff's `var`). */
  variance: number[][];
  /** Group sizes. */
  n: number[];
  /** Present in the degenerate cases (see the function docs). */
  note?: string;
}

/** Solves A x = b by Gaussian elimination with partial pivoting; null if A is (numerically) singular. */
function solveLinear(A: number[][], b: number[]): number[] | null {
  const m = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  let scale = 0;
  for (let i = 0; i < m; i++) scale = Math.max(scale, Math.abs(A[i][i]));
  if (!(scale > 0)) return null;
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    if (Math.abs(M[piv][col]) <= 1e-12 * scale) return null;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let r = col + 1; r < m; r++) {
      const f = M[r][col] / M[col][col];
      for (let c = col; c <= m; c++) M[r][c] -= f * M[col][c];
    }
  }
  const x = new Array<number>(m).fill(0);
  for (let r = m - 1; r >= 0; r--) {
    let s = M[r][m];
    for (let c = r + 1; c < m; c++) s -= M[r][c] * x[c];
    x[r] = s / M[r][r];
  }
  return x;
}

/**
 * Log-rank (Mantel–Haenszel) test that two or more groups have the same time-to-event
 * distribution, for right-censored data — R `survival::survdiff(Surv(time, event) ~ group)` with
 * rho = 0 (survival 3.5).
 *
 * Method (Mantel 1966; Peto & Peto 1972; R survdiff/survdiff2.c): at each distinct event time with
 * N at risk and D events in total, n_g at risk and d_g events in group g:
 * E_g += D n_g / N; V_gh += D (N - D)/(N (N - 1)) n_g (delta_gh - n_h / N) (skipped when N = 1);
 * O_g = total events. Groups with E_g = 0 are dropped, then the first remaining group, and
 * chiSquare = (O - E)' V^{-1} (O - E) on the rest; df = #{g: E_g > 0} - 1;
 * p = P(chi2_df > chiSquare) (`pchisq(chisq, df, lower.tail = FALSE)`).
 * With `timefix` (default), nearly equal times are merged as R's aeqSurv does.
 *
 * Edge cases (documented results):
 * - A group whose observations are all censored is allowed: it contributes to the risk sets; if it
 *   is censored before the first event its expected count is 0 and it drops out of df (as in R).
 * - Fewer than 2 groups with expected > 0 (e.g. no events at all, or all events in a group while
 *   the others were censored before them): chiSquare = 0, df = 0, p = 1, with a `note`
 *   (R: chisq 0, df 0, p 1; with no events at all R reports df = -1 and p = NaN).
 * @throws Error when fewer than 2 groups are given, a group is empty, has non-finite times or
 * events other than 0/1 or of a different length, or when the variance matrix is singular (no
 * informative event time, e.g. every event happens when all subjects at risk fail together — R's
 * solve() errors there too).
 */
export function logRankTest(groups: readonly LogRankGroup[], options: LogRankOptions = {}): LogRankResult {
  const fn = 'logRankTest';
  const isArray = Array.isArray(groups as unknown);
  if (!isArray || groups.length < 2) {
    throw new Error(`${fn}: groups must be an array of at least 2 groups (got ${isArray ? `${groups.length}` : show(groups)})`);
  }
  groups.forEach((g, i) => {
    if (g === null || typeof g !== 'object') throw new Error(`${fn}: groups[${i}] must be { times, events } (got ${show(g)})`);
    requireFiniteSample(fn, `groups[${i}].times`, g.times, 1);
    requireEvents(fn, `groups[${i}].events`, g.events, g.times.length);
  });
  const k = groups.length;
  const pooledTimes: number[] = [];
  const pooledEvents: number[] = [];
  const pooledGroup: number[] = [];
  groups.forEach((g, gi) => {
    g.times.forEach((t, i) => {
      pooledTimes.push(t);
      pooledEvents.push(g.events[i]);
      pooledGroup.push(gi);
    });
  });
  const times = options.timefix === false ? pooledTimes : fixNearlyTiedTimes(pooledTimes);
  const nTotal = times.length;
  const order = times.map((_, i) => i).sort((i, j) => times[i] - times[j]);

  const n = groups.map((g) => g.times.length);
  const atRisk = [...n];
  const observed = new Array<number>(k).fill(0);
  const expected = new Array<number>(k).fill(0);
  const variance = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let idx = 0; idx < nTotal; ) {
    const t = times[order[idx]];
    const d = new Array<number>(k).fill(0);
    const leaving = new Array<number>(k).fill(0);
    let D = 0;
    while (idx < nTotal && times[order[idx]] === t) {
      const o = order[idx];
      leaving[pooledGroup[o]]++;
      if (pooledEvents[o] === 1) {
        d[pooledGroup[o]]++;
        D++;
      }
      idx++;
    }
    if (D > 0) {
      let N = 0;
      for (const r of atRisk) N += r;
      for (let g = 0; g < k; g++) {
        observed[g] += d[g];
        expected[g] += (D * atRisk[g]) / N;
      }
      if (N > 1) {
        const w = (D * (N - D)) / (N * (N - 1));
        for (let g = 0; g < k; g++) {
          for (let h = 0; h < k; h++) {
            variance[g][h] += w * atRisk[g] * ((g === h ? 1 : 0) - atRisk[h] / N);
          }
        }
      }
    }
    for (let g = 0; g < k; g++) atRisk[g] -= leaving[g];
  }

  const informative = expected.map((e, g) => (e > 0 ? g : -1)).filter((g) => g >= 0);
  if (informative.length < 2) {
    const note = informative.length === 0
      ? 'no events in any group: the test is uninformative (chiSquare = 0, df = 0, p = 1)'
      : 'fewer than 2 groups have a non-zero expected count: chiSquare = 0, df = 0, p = 1 (as R survdiff)';
    return { chiSquare: 0, df: 0, p: 1, observed, expected, variance, n, note };
  }
  const keep = informative.slice(1);
  const diff = keep.map((g) => observed[g] - expected[g]);
  const V = keep.map((g) => keep.map((h) => variance[g][h]));
  const sol = solveLinear(V, diff);
  if (sol === null) {
    throw new Error(`${fn}: the variance matrix of observed - expected is singular (no event time with more than one subject at risk and a surviving subject), so the log-rank statistic is undefined`);
  }
  let chiSquare = 0;
  for (let i = 0; i < keep.length; i++) chiSquare += sol[i] * diff[i];
  const df = informative.length - 1;
  return { chiSquare, df, p: chiSquareSf(chiSquare, df), observed, expected, variance, n };
}
