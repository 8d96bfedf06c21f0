/**
 * Shared helpers of the survival functions.
 *
 * @internal
 */

/** R's sqrt(.Machine$double.eps), the tolerance of survival::aeqSurv and of print.survfit's median rule. */
export const R_SQRT_EPS = Math.sqrt(Number.EPSILON);

/**
 * Port of `survival::aeqSurv` (survival 3.x, applied by survfit/survdiff when `timefix = TRUE`):
 * distinct times closer than `R_SQRT_EPS` (absolutely, or relative to the mean |time| of the
 * distinct times) are treated as tied and replaced by the smallest time of their run. Protects
 * against e.g. 0.1 + 0.2 !== 0.3. Returns a new array (the input is not modified).
 */
export function fixNearlyTiedTimes(times: readonly number[]): number[] {
  const y = [...new Set(times)].filter((v) => Number.isFinite(v)).sort((p, q) => p - q);
  if (y.length < 2) return [...times];
  let meanAbs = 0;
  for (const v of y) meanAbs += Math.abs(v);
  meanAbs /= y.length;
  const cuts = [y[0]];
  let anyTied = false;
  for (let i = 1; i < y.length; i++) {
    const dy = y[i] - y[i - 1];
    const tied = dy <= R_SQRT_EPS || dy / meanAbs <= R_SQRT_EPS;
    if (tied) anyTied = true;
    else cuts.push(y[i]);
  }
  if (!anyTied) return [...times];
  // findInterval: index of the last cut <= x
  return times.map((x) => {
    let lo = 0;
    let hi = cuts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cuts[mid] <= x) lo = mid;
      else hi = mid - 1;
    }
    return cuts[lo];
  });
}
