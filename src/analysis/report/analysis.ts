/**
 * The statistical analysis behind reports/report.md and notebook 04, as plain data: per-arm
 * summaries, naive (censored runs excluded) and censoring-aware (Kaplan–Meier, log-rank) time to
 * target, between-arm tests (Welch t, Hedges' g, Mann–Whitney U) and each arm's test error against
 * the ResNet paper's 8.75%. Every quantity that cannot be computed (too few runs, all censored, an
 * arm without runs) carries a sentence saying why instead of a NaN.
 */
import { PROTOCOLS, type ProtocolSpec } from '../../runs/protocols';
import type { EpochRecord, RunRecord } from '../../runs/types';
import { timeToTargetPoints } from '../charts/timeToTarget';
import { describe as describeSample } from '../stats/describe';
import { hedgesG, type HedgesGResult } from '../stats/hedgesG';
import { kaplanMeier } from '../stats/kaplanMeier';
import { logRankTest, type LogRankResult } from '../stats/logRankTest';
import { mannWhitneyU, type MannWhitneyUResult } from '../stats/mannWhitneyU';
import { oneSampleTTest, type OneSampleTTestResult } from '../stats/oneSampleTTest';
import { welchTTest, type WelchTTestResult } from '../stats/welchTTest';

/**
 * The figures this reproduction is compared with. The original study ("How to train your neural
 * network", 2018, fastai) reported medians and means only: its numbers of runs and confidence
 * intervals are not available to this workspace, so they are reported as such (null).
 */
export const ORIGINAL_STUDY = {
  title: 'How to train your neural network (2018)',
  /** Median epochs to 85% validation accuracy: the constant-0.1 / step arm and SGDR (cycle 1 epoch). */
  medianEpochsTo85: { step: 30.5, cosine: 21 } as Record<string, number>,
  /** Mean final test accuracy after 182 epochs by SGDR cycle length (epochs). */
  meanTestAccuracy: { 7: 0.9098, 14: 0.911 } as Record<number, number>,
  /** Runs per arm and confidence intervals of the original figures: not reported. */
  n: null as number | null,
  ci: null as [number, number] | null,
} as const;

/** ResNet-20 test error on CIFAR-10 in He et al. (2016), Table 6, as a fraction. */
export const PAPER_TEST_ERROR = 0.0875;

const FINISHED = new Set(['completed', 'censored', 'diverged']);

/** Summary of a sample, or null with the reason when empty. */
export interface SampleSummary {
  n: number;
  mean: number;
  median: number;
  /** null when n = 1. */
  sd: number | null;
  min: number;
  max: number;
}

/** Kaplan–Meier median time to target of one arm. */
export interface SurvivalSummary {
  /** Runs in the estimate (reached + censored). */
  n: number;
  events: number;
  censored: number;
  /** Median (first time the curve is <= 0.5) and its 95% CI (log-transformed Greenwood band, R's default); null = not reached. */
  median: number | null;
  lower: number | null;
  upper: number | null;
  /** Largest censoring time (the budget of censored runs), null when nothing is censored. */
  maxCensorTime: number | null;
  /** Why the median (or a bound) is missing, when it is. */
  note: string | null;
}

export interface ArmAnalysis {
  protocol: string;
  arm: string;
  /** The arm's schedule in words (from the protocol), '' when unknown. */
  description: string;
  /** Finished runs (completed, censored, diverged). */
  n: number;
  reached: number;
  censored: number;
  diverged: number;
  failed: number;
  running: number;
  target: number | null;
  /** Epochs / training seconds to target among runs that reached it (naive: censored runs excluded). */
  epochs: SampleSummary | null;
  seconds: SampleSummary | null;
  /** Final test error (fraction) of finished, non-diverged runs, with the t interval of the mean. */
  testError: (SampleSummary & { ci: [number, number] | null }) | null;
  /** One-sample t-test of the test error against {@link PAPER_TEST_ERROR}; null with `testErrorNote` when not possible. */
  testErrorVsPaper: OneSampleTTestResult | null;
  testErrorNote: string | null;
  /** Kaplan–Meier medians (epochs, seconds), null with a note when the arm has no usable runs. */
  kmEpochs: SurvivalSummary | null;
  kmSeconds: SurvivalSummary | null;
  /** Runs not in the survival analysis and why (running, failed, diverged). */
  survivalExcluded: string[];
  /** Sentences about the arm (no runs, all censored, ...). */
  notes: string[];
}

export type Measure = 'epochs to target' | 'seconds to target' | 'final test error';

/** Between-arm tests on one measure (A - B). */
export interface MeasureComparison {
  measure: Measure;
  armA: string;
  armB: string;
  nA: number;
  nB: number;
  /** Finished runs of A / B left out because they never reached the target (time measures only). */
  censoredExcludedA: number;
  censoredExcludedB: number;
  welch: WelchTTestResult | null;
  welchNote: string | null;
  hedges: HedgesGResult | null;
  hedgesNote: string | null;
  mannWhitney: MannWhitneyUResult | null;
  mannWhitneyNote: string | null;
}

export interface LogRankSummary {
  metric: 'epochs' | 'seconds';
  arms: string[];
  result: LogRankResult | null;
  note: string | null;
}

export interface ProtocolAnalysis {
  protocol: string;
  /** The protocol's definition when it is a known protocol. */
  spec: ProtocolSpec | null;
  target: number | null;
  stopAtTarget: boolean | null;
  /** Data / budget of the runs (from the first run's configuration). */
  setup: { dataset: string; trainFraction: number | null; maxEpochs: number | null; batchSize: number | null; validationCount: number | null; testCount: number | null | undefined };
  runs: number;
  /** How the runs' setup differs from the protocol's definition (shorter, subset data, fewer seeds): sentences. */
  deviations: string[];
  /**
   * The deviations that change what is measured (epoch budget, data, train fraction, target; not
   * the number of seeds): when there are any, the protocol's p-values and the comparison with the
   * paper's 8.75% are not interpretable as tests of the protocol's question.
   */
  setupDeviations: string[];
  /** Short form of `setupDeviations` for figure subtitles, e.g. "runs of 2 epochs on cifar-10-subset — not the full-182 protocol"; null when none. */
  deviationCaveat: string | null;
  arms: ArmAnalysis[];
  comparisons: MeasureComparison[];
  logRank: LogRankSummary[];
  notes: string[];
}

/** Protocols in report order: the known ones first (race-to-85, full-182, quick), then others by name. */
export function protocolOrder(names: Iterable<string>): string[] {
  const known = Object.keys(PROTOCOLS);
  return [...new Set(names)].sort((a, b) => {
    const ia = known.indexOf(a);
    const ib = known.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib);
    return a.localeCompare(b);
  });
}

function summary(x: number[]): SampleSummary | null {
  if (x.length === 0) return null;
  const d = describeSample(x);
  return { n: d.n, mean: d.mean, median: d.median, sd: d.sd, min: d.min, max: d.max };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function survival(arm: string, points: { time: number; reached: boolean }[], unit: string, target: number | null): SurvivalSummary | null {
  if (points.length === 0) return null;
  const km = kaplanMeier(points.map((p) => p.time), points.map((p) => (p.reached ? 1 : 0)));
  const censorTimes = points.filter((p) => !p.reached).map((p) => p.time);
  const maxCensorTime = censorTimes.length ? Math.max(...censorTimes) : null;
  const targetText = target != null ? `${+(target * 100).toFixed(2)}%` : 'the target';
  let note: string | null = null;
  if (km.nEvents === 0) {
    const budget = maxCensorTime === null ? '' : Number.isInteger(maxCensorTime) ? String(maxCensorTime) : maxCensorTime.toFixed(1);
    note = `median not reached: all ${plural(points.length, 'run')} of ${arm} were censored (none reached ${targetText} within ${budget} ${unit})`;
  } else if (km.median.estimate === null) {
    note = `median not reached: fewer than half of the ${plural(points.length, 'run')} of ${arm} reached ${targetText} before being censored`;
  } else if (km.median.lower === null || km.median.upper === null) {
    const which = km.median.lower === null && km.median.upper === null ? 'both confidence limits' : km.median.lower === null ? 'the lower confidence limit' : 'the upper confidence limit';
    note = `${which} of the median cannot be estimated from ${plural(points.length, 'run')} (the 95% band does not cross 0.5)`;
  }
  return {
    n: km.n, events: km.nEvents, censored: km.nCensored,
    median: km.median.estimate, lower: km.median.lower, upper: km.median.upper, maxCensorTime, note,
  };
}

function armDescription(spec: ProtocolSpec | null, arm: string): string {
  return spec?.arms.find((a) => a.name === arm)?.description ?? '';
}

function finalTestError(r: RunRecord): number | null {
  return r.status !== 'diverged' && r.finalTestAccuracy !== null && FINISHED.has(r.status) ? 1 - r.finalTestAccuracy : null;
}

function analyzeArm(protocol: string, arm: string, spec: ProtocolSpec | null, runs: RunRecord[], epochs: readonly EpochRecord[]): ArmAnalysis {
  const all = runs.filter((r) => r.arm === arm);
  const done = all.filter((r) => FINISHED.has(r.status));
  const reachedRuns = done.filter((r) => r.epochsToTarget !== null);
  const target = all[0]?.target ?? spec?.target ?? null;
  const notes: string[] = [];
  const base = {
    protocol, arm, description: armDescription(spec, arm), n: done.length, reached: reachedRuns.length,
    censored: done.filter((r) => r.target !== null && r.epochsToTarget === null && r.status !== 'diverged').length,
    diverged: done.filter((r) => r.status === 'diverged').length,
    failed: all.filter((r) => r.status === 'failed').length,
    running: all.filter((r) => r.status === 'running').length,
    target,
  };
  if (all.length === 0) {
    notes.push(`arm ${arm} has no runs in the results store`);
  } else if (done.length === 0) {
    notes.push(`arm ${arm} has no finished runs (${plural(base.running, 'running run')}, ${plural(base.failed, 'failed run')})`);
  } else if (target !== null && reachedRuns.length === 0) {
    notes.push(`no run of ${arm} reached the target: every time-to-target statistic of this arm is censored`);
  }
  const errors = done.map(finalTestError).filter((x): x is number => x !== null);
  let testError: ArmAnalysis['testError'] = null;
  let testErrorVsPaper: OneSampleTTestResult | null = null;
  let testErrorNote: string | null = null;
  if (errors.length === 0) {
    testErrorNote = all.length === 0 ? `no runs of ${arm}` : `no finished run of ${arm} has a final test accuracy`;
  } else {
    const s = summary(errors)!;
    if (errors.length < 2) {
      testError = { ...s, ci: null };
      testErrorNote = `only ${plural(errors.length, 'run')} of ${arm} with a test error: no confidence interval or t-test (need at least 2)`;
    } else {
      testErrorVsPaper = oneSampleTTest(errors, PAPER_TEST_ERROR);
      testError = { ...s, ci: [testErrorVsPaper.ci[0], testErrorVsPaper.ci[1]] };
      if (testErrorVsPaper.note) testErrorNote = testErrorVsPaper.note;
    }
  }
  const finished = done.filter((r) => r.status !== 'diverged');
  const pe = timeToTargetPoints(finished, 'epochs', epochs);
  const ps = timeToTargetPoints(finished, 'seconds', epochs);
  const survivalExcluded = all.filter((r) => !FINISHED.has(r.status) || r.status === 'diverged').map((r) => `${r.runId} (${r.status})`);
  ps.excluded.forEach((e) => survivalExcluded.push(`${e.runId} (seconds: ${e.reason})`));
  return {
    ...base,
    epochs: summary(reachedRuns.map((r) => r.epochsToTarget!)),
    seconds: summary(reachedRuns.map((r) => r.secondsToTarget).filter((x): x is number => x !== null)),
    testError, testErrorVsPaper, testErrorNote,
    kmEpochs: target === null ? null : survival(arm, pe.points, 'epochs', target),
    kmSeconds: target === null ? null : survival(arm, ps.points, 'training seconds', target),
    survivalExcluded, notes,
  };
}

function compare(measure: Measure, armA: string, armB: string, runs: RunRecord[]): MeasureComparison {
  const pick = (arm: string) => runs.filter((r) => r.arm === arm && FINISHED.has(r.status));
  const value = (r: RunRecord): number | null =>
    measure === 'epochs to target' ? r.epochsToTarget : measure === 'seconds to target' ? r.secondsToTarget : finalTestError(r);
  const a = pick(armA);
  const b = pick(armB);
  const xa = a.map(value).filter((v): v is number => v !== null);
  const xb = b.map(value).filter((v): v is number => v !== null);
  const timeMeasure = measure !== 'final test error';
  const censoredExcludedA = timeMeasure ? a.filter((r) => r.status !== 'diverged' && r.epochsToTarget === null).length : 0;
  const censoredExcludedB = timeMeasure ? b.filter((r) => r.status !== 'diverged' && r.epochsToTarget === null).length : 0;
  const what = timeMeasure ? 'that reached the target' : 'with a final test error';
  const few = (need: number) => {
    const short = [[armA, xa.length], [armB, xb.length]].filter(([, n]) => (n as number) < need);
    return short.length === 0 ? null
      : `not computed: ${short.map(([arm, n]) => `${arm} has ${n === 0 ? 'no runs' : plural(n as number, 'run')} ${what}`).join(' and ')} (need at least ${need} per arm)`;
  };
  const out: MeasureComparison = {
    measure, armA, armB, nA: xa.length, nB: xb.length, censoredExcludedA, censoredExcludedB,
    welch: null, welchNote: few(2), hedges: null, hedgesNote: few(2), mannWhitney: null, mannWhitneyNote: few(1),
  };
  if (!out.welchNote) {
    out.welch = welchTTest(xa, xb);
    out.welchNote = out.welch.note ?? null;
  }
  if (!out.hedgesNote) {
    try {
      out.hedges = hedgesG(xa, xb);
    } catch (e) {
      out.hedgesNote = /pooled standard deviation is 0/.test((e as Error).message)
        ? 'not computed: every run of each arm has the same value (pooled SD 0), so a standardized difference is undefined'
        : `not computed: ${(e as Error).message}`;
    }
  }
  if (!out.mannWhitneyNote) {
    out.mannWhitney = mannWhitneyU(xa, xb);
    out.mannWhitneyNote = out.mannWhitney.note ?? null;
  }
  return out;
}

/** Arm pairs (A, B) with the step schedule as B when present (differences read "SGDR - step"). */
export function armPairs(arms: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < arms.length; i++) {
    for (let j = i + 1; j < arms.length; j++) {
      out.push(arms[i] === 'step' ? [arms[j], arms[i]] : [arms[i], arms[j]]);
    }
  }
  return out;
}

function logRank(metric: 'epochs' | 'seconds', arms: string[], runs: RunRecord[], epochs: readonly EpochRecord[]): LogRankSummary {
  const finished = runs.filter((r) => FINISHED.has(r.status) && r.status !== 'diverged');
  const { points } = timeToTargetPoints(finished, metric, epochs);
  const groups = arms.map((arm) => points.filter((p) => p.arm === arm)).filter((g) => g.length > 0);
  const used = arms.filter((arm) => points.some((p) => p.arm === arm));
  if (groups.length < 2) {
    return { metric, arms: used, result: null, note: `not computed: ${used.length === 0 ? 'no arm has' : `only ${used[0]} has`} finished runs (need 2 arms)` };
  }
  try {
    const result = logRankTest(groups.map((g) => ({ times: g.map((p) => p.time), events: g.map((p) => (p.reached ? 1 : 0) as 0 | 1) })));
    return { metric, arms: used, result, note: result.note ?? null };
  } catch (e) {
    return { metric, arms: used, result: null, note: `not computed: ${(e as Error).message.replace(/^logRankTest: /, '')}` };
  }
}

/** How a protocol's runs deviate from its definition; see {@link protocolDeviations}. */
export interface ProtocolDeviations {
  /** Every deviation, as sentence parts (epochs, data, train fraction, target, seeds). */
  deviations: string[];
  /** Those that change what is measured (all but the number of seeds). */
  setupDeviations: string[];
  /**
   * One line for figure subtitles when there are setup deviations, e.g. "runs of at most 2 epochs
   * (not 182) on cifar-10-subset, train fraction 0.5 — not the full-182 protocol"; else null.
   */
  caveat: string | null;
}

/**
 * Compares one protocol's runs (their first run's configuration, and runs per arm) with the
 * protocol's definition. Unknown protocols and empty run lists have no deviations.
 * @param protocol protocol name
 * @param runs runs (only those of `protocol` are used)
 */
export function protocolDeviations(protocol: string, runs: readonly RunRecord[]): ProtocolDeviations {
  const spec = PROTOCOLS[protocol] ?? null;
  const pr = runs.filter((r) => r.protocol === protocol);
  const none: ProtocolDeviations = { deviations: [], setupDeviations: [], caveat: null };
  if (!spec || pr.length === 0) return none;
  const configured = (pr[0].config ?? {}) as Record<string, unknown>;
  const data = (configured.data ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const target = pr[0].target ?? spec.target ?? null;
  const setup: string[] = [];
  const short: string[] = [];
  const maxEpochs = num(configured.maxEpochs);
  const fraction = num(data.trainFraction);
  const dataset = typeof data.dataset === 'string' ? data.dataset : null;
  const otherData = spec.data === 'any' && dataset !== null && dataset !== 'cifar-10';
  if (maxEpochs !== null && maxEpochs !== spec.maxEpochs) {
    setup.push(`at most ${maxEpochs} epochs instead of the protocol's ${spec.maxEpochs}`);
    short.push(`runs of at most ${maxEpochs} epoch${maxEpochs === 1 ? '' : 's'} (not ${spec.maxEpochs})`);
  }
  if (otherData) {
    setup.push(`data ${dataset} instead of the full CIFAR-10`);
    short.push(`on ${dataset}`);
  }
  if (fraction !== null && fraction !== spec.trainFraction) {
    setup.push(`train fraction ${fraction} instead of ${spec.trainFraction}`);
    short.push(`train fraction ${fraction}`);
  }
  if (target !== spec.target) {
    const t = (x: number | null) => (x === null ? 'none' : `${+(x * 100).toFixed(2)}%`);
    setup.push(`target ${target ?? 'none'} instead of ${spec.target ?? 'none'}`);
    short.push(`target ${t(target)} (not ${t(spec.target)})`);
  }
  const deviations = [...setup];
  const arms = [...new Set(pr.map((r) => r.arm))];
  const perArm = Math.max(...arms.map((a) => pr.filter((r) => r.arm === a).length));
  if (perArm < spec.seeds) deviations.push(`at most ${perArm} run${perArm === 1 ? '' : 's'} per arm instead of the protocol's ${spec.seeds}`);
  let caveat: string | null = null;
  if (setup.length) {
    // "runs of at most 2 epochs (not 182) on cifar-10-subset, train fraction 0.5 — not the full-182 protocol"
    let head = short[0].startsWith('runs of') ? short.shift()! : 'runs';
    if (short[0]?.startsWith('on ')) head += ` ${short.shift()!}`;
    const rest = short.length ? `${head === 'runs' ? ' with ' : ', '}${short.join(', ')}` : '';
    caveat = `${head}${rest} — not the ${protocol} protocol`;
  }
  return { deviations, setupDeviations: setup, caveat };
}

/**
 * Analyses one protocol's runs.
 * @param protocol protocol name (its spec, when known, gives the arm order and arms without runs)
 * @param runs runs of this protocol
 * @param epochs epoch records (for training seconds of censored runs)
 */
export function analyzeProtocol(protocol: string, runs: RunRecord[], epochs: readonly EpochRecord[]): ProtocolAnalysis {
  const spec = PROTOCOLS[protocol] ?? null;
  const pr = runs.filter((r) => r.protocol === protocol);
  const withRuns = [...new Set(pr.map((r) => r.arm))];
  const configured = (pr[0]?.config ?? {}) as Record<string, unknown>;
  // Arms of the protocol spec (in its order) that this store's runs could belong to, then any others.
  const specArms = spec ? spec.arms.map((a) => a.name) : [];
  const arms = [...specArms, ...withRuns.filter((a) => !specArms.includes(a)).sort()];
  const notes: string[] = [];
  const missing = specArms.filter((a) => !withRuns.includes(a));
  if (missing.length && pr.length) {
    notes.push(`arm${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of protocol ${protocol} ${missing.length > 1 ? 'have' : 'has'} no runs in the results store (e.g. trained with --arms ${withRuns.join(',')})`);
  }
  const armResults = arms.map((arm) => analyzeArm(protocol, arm, spec, pr, epochs));
  const present = arms.filter((a) => withRuns.includes(a));
  const comparisons: MeasureComparison[] = [];
  for (const [a, b] of armPairs(present)) {
    for (const m of ['epochs to target', 'seconds to target', 'final test error'] as Measure[]) comparisons.push(compare(m, a, b, pr));
  }
  const target = pr[0]?.target ?? spec?.target ?? null;
  const data = (configured.data ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const dev = protocolDeviations(protocol, pr);
  return {
    protocol, spec, target,
    stopAtTarget: typeof configured.stopAtTarget === 'boolean' ? configured.stopAtTarget : spec?.stopAtTarget ?? null,
    setup: {
      dataset: typeof data.dataset === 'string' ? data.dataset : 'unknown',
      trainFraction: num(data.trainFraction), maxEpochs: num(configured.maxEpochs), batchSize: num(configured.batchSize),
      validationCount: num(data.validationCount), testCount: data.testCount === null ? null : num(data.testCount) ?? undefined,
    },
    runs: pr.length,
    deviations: dev.deviations,
    setupDeviations: dev.setupDeviations,
    deviationCaveat: dev.caveat,
    arms: armResults,
    comparisons,
    logRank: target === null ? [] : [logRank('epochs', present, pr, epochs), logRank('seconds', present, pr, epochs)],
    notes,
  };
}

/**
 * Analyses every protocol found in `runs` (known protocols first).
 * @param runs runs as returned by loadResults
 * @param epochs their epoch records
 */
export function analyzeResults(runs: RunRecord[], epochs: readonly EpochRecord[]): ProtocolAnalysis[] {
  return protocolOrder(runs.map((r) => r.protocol)).map((p) => analyzeProtocol(p, runs, epochs));
}
