import { normalQuantile } from './distributions';
import { fixNearlyTiedTimes, R_SQRT_EPS } from './survivalTimes';
import { requireConfidenceLevel, requireEvents, requireFiniteSample, show } from './validate';

/** Transformation for the pointwise confidence band (R survfit `conf.type`). */
export type KaplanMeierConfType = 'log' | 'log-log' | 'plain';

export interface KaplanMeierOptions {
  /** Pointwise confidence level (R `conf.int`, default 0.95). */
  confidenceLevel?: number;
  /** Confidence band transformation (R `conf.type`, default 'log' as in R). */
  confType?: KaplanMeierConfType;
  /** Merge times that differ by less than ~1.5e-8 relative, like R's `timefix = TRUE` (default true). */
  timefix?: boolean;
}

/** Median survival time and its confidence interval as printed by R's `print(survfit(...))`; null = not reached (R: NA). */
export interface KaplanMeierMedian {
  estimate: number | null;
  lower: number | null;
  upper: number | null;
}

export interface KaplanMeierResult {
  /** Number of observations. */
  n: number;
  /** Number of events (runs that reached the target). */
  nEvents: number;
  /** Number of censored observations. */
  nCensored: number;
  /** Distinct event times, ascending (after `timefix`). All arrays below are parallel to it. */
  time: number[];
  /** Number at risk just before time[i] (observations with time >= time[i]). */
  atRisk: number[];
  /** Number of events at time[i]. */
  events: number[];
  /**
   * Censored observations in (time[i-1], time[i]] (for i = 0: up to time[0]) — R summary.survfit's
   * `n.censor`. Observations censored after the last event time are not counted here; use
   * `censorTimes` for plotting censoring marks.
   */
  censored: number[];
  /** Kaplan–Meier estimate S(time[i]) (just after time[i]). */
  survival: number[];
  /** Greenwood standard error of S (R summary's `std.err`); null where S = 0 (R: NA). */
  stdErr: (number | null)[];
  /** Pointwise lower confidence limit; null where undefined (R: NA), e.g. S = 0 with conf.type 'log'. */
  lower: (number | null)[];
  /** Pointwise upper confidence limit; null where undefined (R: NA). */
  upper: (number | null)[];
  /** Time of every censored observation, ascending (after `timefix`). */
  censorTimes: number[];
  median: KaplanMeierMedian;
  confidenceLevel: number;
  confType: KaplanMeierConfType;
  /** Present when there are no events (all observations censored). */
  note?: string;
}

/** print.survfit's median rule (`minmin` in survival:::survmean), on a curve with null = NA. */
function printedMedian(y: readonly (number | null)[], x: readonly number[]): number | null {
  const ys: number[] = [];
  const xs: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== null && v < 0.5 + R_SQRT_EPS) {
      ys.push(v);
      xs.push(x[i]);
    }
  }
  if (ys.length === 0) return null;
  if (Math.abs(ys[0] - 0.5) < R_SQRT_EPS) {
    const k = ys.findIndex((v) => v < ys[0]);
    if (k >= 0) return (xs[0] + xs[k]) / 2;
  }
  return xs[0];
}

/**
 * Kaplan–Meier estimate of the "survival" function S(t) = P(time-to-target > t) for right-censored
 * data, e.g. epochs until a run first reaches 85 % test accuracy (event = 1) or the epoch budget at
 * which a run that never reached it stopped (event = 0, censored).
 *
 * Inputs: `times` (any unit, e.g. epochs; finite), `events` (same length; 1 = event, 0 = censored).
 *
 * Method (Kaplan & Meier 1958), matching R `survival::survfit(Surv(times, events) ~ 1,
 * conf.type = confType, conf.int = confidenceLevel)` (survival 3.5) and `summary()` of it:
 * at each distinct event time t_i with n_i at risk and d_i events, S(t_i) = prod_{j<=i}(1 - d_j/n_j);
 * Greenwood variance on the log scale V_i = sum_{j<=i} d_j/(n_j (n_j - d_j)) (Infinity when
 * n_j = d_j); stdErr = S sqrt(V) (null where S = 0, as R's NA);
 * with z = Phi^{-1}(1 - (1 - cl)/2) and se = sqrt(V) (R `survfit_confint`):
 * - 'log' (R default): S exp(-/+ z se), upper capped at 1; null where S = 0;
 * - 'log-log': exp(-exp(log(-log S) -/+ z se / log S)); null where S = 0;
 * - 'plain': S -/+ z se S, clipped to [0, 1]; null where S = 0.
 * Median and CI as `print(fit)` shows (survival:::survmean): the first time at which the curve is
 * <= 0.5 (with tolerance sqrt(machine eps)); if the curve equals 0.5 exactly there and drops later,
 * the average of that time and the next time it drops; lower/upper from the lower/upper band
 * curves the same way; null when never reached (R: NA).
 * With `timefix` (default), nearly equal times are merged as R's aeqSurv does.
 *
 * Edge cases: all observations censored -> empty arrays, all medians null, `note` set.
 * @throws Error when `times` is empty or has a non-finite value, `events` differs in length or has
 * an entry other than 0/1, or an option is invalid.
 */
export function kaplanMeier(times: readonly number[], events: readonly (0 | 1)[], options: KaplanMeierOptions = {}): KaplanMeierResult {
  const fn = 'kaplanMeier';
  requireFiniteSample(fn, 'times', times, 1);
  requireEvents(fn, 'events', events, times.length);
  const confidenceLevel = requireConfidenceLevel(fn, options.confidenceLevel ?? 0.95);
  const confType = options.confType ?? 'log';
  if (confType !== 'log' && confType !== 'log-log' && confType !== 'plain') {
    throw new Error(`${fn}: confType must be 'log', 'log-log' or 'plain' (got ${show(confType)})`);
  }
  const fixed = options.timefix === false ? [...times] : fixNearlyTiedTimes(times);
  const order = fixed.map((_, i) => i).sort((i, j) => fixed[i] - fixed[j]);
  const n = times.length;
  const z = normalQuantile(1 - (1 - confidenceLevel) / 2);

  const out: KaplanMeierResult = {
    n, nEvents: 0, nCensored: 0,
    time: [], atRisk: [], events: [], censored: [], survival: [], stdErr: [], lower: [], upper: [],
    censorTimes: [], median: { estimate: null, lower: null, upper: null }, confidenceLevel, confType,
  };
  let s = 1;
  let greenwood = 0;
  let censoredSinceLastEvent = 0;
  for (let k = 0; k < n; ) {
    const t = fixed[order[k]];
    const atRisk = n - k;
    let d = 0;
    let c = 0;
    while (k < n && fixed[order[k]] === t) {
      if (events[order[k]] === 1) d++;
      else {
        c++;
        out.censorTimes.push(t);
      }
      k++;
    }
    out.nEvents += d;
    out.nCensored += c;
    censoredSinceLastEvent += c;
    if (d === 0) continue;
    s *= (atRisk - d) / atRisk;
    greenwood += atRisk === d ? Infinity : d / (atRisk * (atRisk - d));
    const se = Math.sqrt(greenwood);
    out.time.push(t);
    out.atRisk.push(atRisk);
    out.events.push(d);
    out.censored.push(censoredSinceLastEvent);
    censoredSinceLastEvent = 0;
    out.survival.push(s);
    out.stdErr.push(s === 0 ? null : s * se);
    let lo: number | null = null;
    let hi: number | null = null;
    if (s > 0) {
      if (confType === 'log') {
        lo = Math.exp(Math.log(s) - z * se);
        hi = Math.min(1, Math.exp(Math.log(s) + z * se));
      } else if (confType === 'log-log') {
        if (s < 1) {
          const se2 = (z * se) / Math.log(s);
          lo = Math.exp(-Math.exp(Math.log(-Math.log(s)) - se2));
          hi = Math.exp(-Math.exp(Math.log(-Math.log(s)) + se2));
        }
      } else {
        const se2 = se * s * z;
        lo = Math.max(s - se2, 0);
        hi = Math.min(s + se2, 1);
      }
    }
    out.lower.push(lo);
    out.upper.push(hi);
  }
  out.median = {
    estimate: printedMedian(out.survival, out.time),
    lower: printedMedian(out.lower, out.time),
    upper: printedMedian(out.upper, out.time),
  };
  if (out.nEvents === 0) out.note = 'no events (all observations censored): the curve stays at 1 and the median is not reached';
  return out;
}
