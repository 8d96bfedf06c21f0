/**
 * Power of the two-sided two-sample t-test with n runs per arm: the power for a given difference,
 * the runs per arm a difference needs for a given power, and the smallest difference n runs per
 * arm detect with that power.
 *
 * Method (R `power.t.test(type = "two.sample", alternative = "two.sided", strict = TRUE)`):
 *   power = P(T' > q) + P(T' < -q),  q = qt(1 - alpha/2, df),  T' ~ noncentral t(df, ncp),
 *   ncp = delta / sqrt(sdA^2/n + sdB^2/n).
 * With equal SDs, df = 2(n - 1) and ncp = sqrt(n/2) delta / sd: exactly R's power.t.test. With
 * unequal SDs the Welch test's Welch–Satterthwaite df for equal n,
 * df = (n - 1)(sdA^2 + sdB^2)^2 / (sdA^4 + sdB^4), is used (the usual approximation of Welch
 * power; it reduces to the above when the SDs are equal). The noncentral t CDF is jStat's series
 * (Lenth 1989, AS 243 form), whose regularized incomplete beta is accurate to ~1e-7, so powers
 * agree with R to ~1e-6 and solved n / delta to ~1e-5 relative (test/power.test.ts against
 * scripts/fixtures/power_r.R). n is treated as continuous, as power.t.test does; round it up for a
 * number of seeds.
 */
import { jStat } from './jstat';
import { studentTQuantile } from './distributions';
import { show } from './validate';

const ncT = jStat.noncentralt;

/** Options shared by the power functions. */
export interface PowerOptions {
  /** Two-sided significance level, default 0.05. */
  alpha?: number;
  /** SD of arm B (units of the data); default: the same as arm A (`sd`). */
  sdB?: number;
}

function check(fn: string, name: string, v: number, lo: number, hi = Infinity): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > lo) || !(v < hi)) {
    throw new Error(`${fn}: ${name} must be a finite number in (${lo}, ${hi === Infinity ? '∞' : hi}) (got ${show(v)})`);
  }
}

function dfAndSe(n: number, sdA: number, sdB: number): { df: number; se: number } {
  const a = sdA * sdA;
  const b = sdB * sdB;
  return { df: ((n - 1) * (a + b) ** 2) / (a * a + b * b), se: Math.sqrt(a / n + b / n) };
}

/**
 * Power of the two-sided Welch / Student two-sample t-test.
 * @param n runs per arm (> 1; continuous)
 * @param delta true difference of means (units of the data; sign ignored)
 * @param sd SD of arm A (> 0); arm B's is `options.sdB` (default the same)
 * @returns probability in (alpha, 1)
 * @throws Error naming the argument for n <= 1, sd <= 0, alpha outside (0, 1), non-finite input
 */
export function tTestPower(n: number, delta: number, sd: number, options: PowerOptions = {}): number {
  const alpha = options.alpha ?? 0.05;
  const sdB = options.sdB ?? sd;
  check('tTestPower', 'n', n, 1);
  check('tTestPower', 'sd', sd, 0);
  check('tTestPower', 'sdB', sdB, 0);
  check('tTestPower', 'alpha', alpha, 0, 1);
  if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new Error(`tTestPower: delta must be a finite number (got ${show(delta)})`);
  const { df, se } = dfAndSe(n, sd, sdB);
  const q = studentTQuantile(1 - alpha / 2, df);
  const ncp = Math.abs(delta) / se;
  return 1 - ncT.cdf(q, df, ncp) + ncT.cdf(-q, df, ncp);
}

/** Bisection on a monotone increasing f with f(lo) < 0 < f(hi), to relative tolerance 1e-12. */
function solve(f: (x: number) => number, lo: number, hi: number): number {
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Runs per arm (continuous, as R's power.t.test reports it; `Math.ceil` it for seeds) for which the
 * two-sided t-test detects `delta` with probability `power`.
 * @param delta difference to detect (units of the data, != 0)
 * @param sd SD of arm A; `options.sdB` that of arm B (default equal)
 * @param power target power, default 0.8
 * @returns n >= 2, or Infinity when more than 1e7 runs would be needed
 * @throws Error for delta = 0, sd <= 0, power outside (alpha, 1)
 */
export function tTestSampleSize(delta: number, sd: number, power = 0.8, options: PowerOptions = {}): number {
  const alpha = options.alpha ?? 0.05;
  check('tTestSampleSize', 'power', power, alpha, 1);
  check('tTestSampleSize', '|delta|', Math.abs(delta), 0);
  check('tTestSampleSize', 'sd', sd, 0);
  const f = (n: number) => tTestPower(n, delta, sd, options) - power;
  if (f(2) >= 0) return 2;
  if (f(1e7) < 0) return Infinity;
  let hi = 4;
  while (f(hi) < 0) hi *= 2;
  return solve(f, hi / 2 < 2 ? 2 : hi / 2, hi);
}

/**
 * Smallest difference of means (units of the data, > 0) that n runs per arm detect with the given
 * power in the two-sided t-test (R: `power.t.test(n, sd, power, strict = TRUE)$delta`).
 * @param n runs per arm (> 1)
 * @throws Error for n <= 1, sd <= 0, power outside (alpha, 1)
 */
export function tTestDetectableDifference(n: number, sd: number, power = 0.8, options: PowerOptions = {}): number {
  const alpha = options.alpha ?? 0.05;
  check('tTestDetectableDifference', 'n', n, 1);
  check('tTestDetectableDifference', 'power', power, alpha, 1);
  check('tTestDetectableDifference', 'sd', sd, 0);
  const f = (d: number) => tTestPower(n, d, sd, options) - power;
  let hi = sd;
  while (f(hi) < 0) hi *= 2;
  return solve(f, 0, hi);
}
