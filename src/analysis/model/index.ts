/**
 * The one analysis model of the workspace: every number that the CLI text (`npm start`,
 * `npm run analyze`), reports/report.md, the figures, the danfo frames and the notebooks show is
 * computed here, once, and those views only render it. As plain data: per-arm
 * summaries, naive (censored runs excluded) and censoring-aware (Kaplan–Meier, log-rank) time to
 * target, between-arm tests (Welch t, Hedges' g, Mann–Whitney U) and each arm's test error against
 * the ResNet paper's 8.75%. Every quantity that cannot be computed (too few runs, all censored, an
 * arm without runs) carries a sentence saying why instead of a NaN.
 */
import { PROTOCOLS, type ProtocolSpec } from '../../runs/protocols';
import type { ArmAnalysis, LogRankSummary, Measure, MeasureComparison, PowerSummary, ProtocolAnalysis, SampleSummary, SurvivalSummary } from './types';
import type { EpochRecord, RunRecord } from '../../store/types';
import { timeToTargetPoints, type TimeToTargetData, type TimeToTargetMetric } from './timeToTarget';
import { targetPercent } from './percent';
import { describe as describeSample } from '../stats/describe';
import { hedgesG } from '../stats/hedgesG';
import { kaplanMeier } from '../stats/kaplanMeier';
import { logRankTest } from '../stats/logRankTest';
import { mannWhitneyU } from '../stats/mannWhitneyU';
import { oneSampleTTest, type OneSampleTTestResult } from '../stats/oneSampleTTest';
import { welchTTest } from '../stats/welchTTest';
import { tTestDetectableDifference, tTestSampleSize } from '../stats/power';
import { protocolDeviations, protocolOrder } from './deviations';
import { finalTestError, isFinished, PAPER_TEST_ERROR, REFERENCE_DIFFERENCES } from './reference';

export * from './reference';
export * from './deviations';
export * from './types';
export * from './timeToTarget';
export * from './box';
export * from './validation';
export * from './testError';
export * from './percent';
export * from './epochs';



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
  const targetText = target != null ? targetPercent(target) : 'the target';
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
    curve: km, n: km.n, events: km.nEvents, censored: km.nCensored,
    median: km.median.estimate, lower: km.median.lower, upper: km.median.upper, maxCensorTime, note,
  };
}

function armDescription(spec: ProtocolSpec | null, arm: string): string {
  return spec?.arms.find((a) => a.name === arm)?.description ?? '';
}

/** Time-to-target observations of a protocol's finished, non-diverged runs, per metric: computed once for the arms and the log-rank tests. */
type TimeToTargetByMetric = Record<TimeToTargetMetric, TimeToTargetData>;

/** The observations of one arm (points and exclusions in the runs' order). */
function ofArm(d: TimeToTargetData, arm: string): TimeToTargetData {
  return { points: d.points.filter((p) => p.arm === arm), excluded: d.excluded.filter((e) => e.arm === arm) };
}

function analyzeArm(protocol: string, arm: string, spec: ProtocolSpec | null, runs: RunRecord[], times: TimeToTargetByMetric): ArmAnalysis {
  const all = runs.filter((r) => r.arm === arm);
  const done = all.filter((r) => isFinished(r));
  const training = all.filter((r) => r.status === 'running').sort((a, b) => a.seed - b.seed);
  const reachedRuns = done.filter((r) => r.epochsToTarget !== null);
  const target = all[0]?.target ?? spec?.target ?? null;
  const notes: string[] = [];
  const base = {
    protocol, arm, description: armDescription(spec, arm), n: done.length, reached: reachedRuns.length,
    censored: done.filter((r) => r.target !== null && r.epochsToTarget === null && r.status !== 'diverged').length,
    diverged: done.filter((r) => r.status === 'diverged').length,
    failed: all.filter((r) => r.status === 'failed').length,
    running: training.length,
    inTraining: training.map((r) => ({ seed: r.seed, epochs: r.epochsCompleted })),
    target,
  };
  if (all.length === 0) {
    notes.push(`arm ${arm} has no runs in the results store`);
  } else if (done.length === 0) {
    const maxEpochs = (all[0].config as { maxEpochs?: unknown }).maxEpochs;
    const progress = base.inTraining.length === 0 ? ''
      : `${typeof maxEpochs === 'number' ? ` of ${maxEpochs} epochs` : ''}: ${base.inTraining.map(trainingProgress).join(', ')}`;
    notes.push(`arm ${arm} has no finished runs (${plural(base.running, 'running run')}${progress}; ${plural(base.failed, 'failed run')})`);
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
  const [pe, ps, pc] = [ofArm(times.epochs, arm), ofArm(times.seconds, arm), ofArm(times['cpu-seconds'], arm)];
  const survivalExcluded = all.filter((r) => !isFinished(r) || r.status === 'diverged').map((r) => `${r.runId} (${r.status})`);
  ps.excluded.forEach((e) => survivalExcluded.push(`${e.runId} (seconds: ${e.reason})`));
  return {
    ...base,
    epochs: summary(reachedRuns.map((r) => r.epochsToTarget!)),
    seconds: summary(reachedRuns.map((r) => r.secondsToTarget).filter((x): x is number => x !== null)),
    testError, testErrorVsPaper, testErrorNote,
    kmEpochs: target === null ? null : survival(arm, pe.points, 'epochs', target),
    kmSeconds: target === null ? null : survival(arm, ps.points, 'training seconds', target),
    kmCpuSeconds: target === null || pc.excluded.length > 0 ? null : survival(arm, pc.points, 'training CPU seconds', target),
    survivalExcluded, notes,
  };
}

/** Power summary of a comparison (see {@link PowerSummary}); a sentence when it cannot be computed. */
function powerOf(protocol: string, measure: Measure, xa: number[], xb: number[]): { power: PowerSummary | null; note: string | null } {
  if (xa.length < 2 || xb.length < 2) return { power: null, note: 'not computed: need at least 2 runs per arm for the SDs' };
  const sdA = describeSample(xa).sd!;
  const sdB = describeSample(xb).sd!;
  if (!(sdA > 0) || !(sdB > 0)) return { power: null, note: 'not computed: an arm has no spread (SD 0)' };
  const o = { alpha: 0.05, sdB };
  const n = Math.min(xa.length, xb.length);
  const observedDifference = describeSample(xa).mean - describeSample(xb).mean;
  const ref = REFERENCE_DIFFERENCES.find((r) => r.protocol === protocol && r.measure === measure);
  return {
    power: {
      alpha: 0.05, power: 0.8, sdA, sdB, n,
      detectableDifference: tTestDetectableDifference(n, sdA, 0.8, o),
      observedDifference,
      runsForObserved: observedDifference === 0 ? null : tTestSampleSize(observedDifference, sdA, 0.8, o),
      reference: ref ? { difference: ref.difference, label: ref.label, runs: tTestSampleSize(ref.difference, sdA, 0.8, o) } : null,
    },
    note: observedDifference === 0 ? 'the observed difference is 0: no run count detects it' : null,
  };
}

function compare(protocol: string, measure: Measure, armA: string, armB: string, runs: RunRecord[]): MeasureComparison {
  const pick = (arm: string) => runs.filter((r) => r.arm === arm && isFinished(r));
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
    power: null, powerNote: null,
  };
  const pw = powerOf(protocol, measure, xa, xb);
  out.power = pw.power;
  out.powerNote = pw.note;
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

/**
 * Arm pairs (A, B) in the one direction every view uses: protocol order (A before B), the step
 * schedule always as B (differences read "SGDR - step"). E.g. [cosine-7, cosine-14, step] gives
 * (cosine-7, cosine-14), (cosine-7, step), (cosine-14, step).
 */
export function armPairs(arms: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < arms.length; i++) {
    for (let j = i + 1; j < arms.length; j++) {
      out.push(arms[i] === 'step' ? [arms[j], arms[i]] : [arms[i], arms[j]]);
    }
  }
  return out;
}

function logRank(metric: TimeToTargetMetric, arms: string[], times: TimeToTargetByMetric): LogRankSummary {
  const { points, excluded } = times[metric];
  if (metric === 'cpu-seconds' && excluded.length) {
    return { metric, arms, result: null, note: `not computed: ${excluded.length} run${excluded.length === 1 ? ' has' : 's have'} no CPU seconds (epochs written before store schema 3)` };
  }
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
  const finished = pr.filter((r) => isFinished(r) && r.status !== 'diverged');
  const times: TimeToTargetByMetric = {
    epochs: timeToTargetPoints(finished, 'epochs', epochs),
    seconds: timeToTargetPoints(finished, 'seconds', epochs),
    'cpu-seconds': timeToTargetPoints(finished, 'cpu-seconds', epochs),
  };
  const armResults = arms.map((arm) => analyzeArm(protocol, arm, spec, pr, times));
  const present = arms.filter((a) => withRuns.includes(a));
  const comparisons: MeasureComparison[] = [];
  for (const [a, b] of armPairs(present)) {
    for (const m of ['epochs to target', 'seconds to target', 'final test error'] as Measure[]) comparisons.push(compare(protocol, m, a, b, pr));
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
    logRank: target === null ? [] : [logRank('epochs', present, times), logRank('seconds', present, times), logRank('cpu-seconds', present, times)],
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

/** True when at least one arm of the protocol has a finished run (completed, censored, diverged). */
export function hasFinishedRuns(p: ProtocolAnalysis): boolean {
  return p.arms.some((a) => a.n > 0);
}

/** A run in training's progress in words: "seed 0 at epoch 44", or "seed 0 before its first epoch". */
export function trainingProgress(r: { seed: number; epochs: number }): string {
  return r.epochs > 0 ? `seed ${r.seed} at epoch ${r.epochs}` : `seed ${r.seed} before its first epoch`;
}

/**
 * True when the protocol has no finished run but runs in training with at least one epoch: its
 * progress (schedules, validation accuracy so far) can be drawn, not its outcomes (time to target,
 * test error).
 */
export function inTrainingOnly(p: ProtocolAnalysis): boolean {
  return !hasFinishedRuns(p) && p.arms.some((a) => a.inTraining.some((r) => r.epochs > 0));
}

/** True when the protocol has something to chart: a finished run, or a run in training with an epoch. */
export function hasChartableRuns(p: ProtocolAnalysis): boolean {
  return hasFinishedRuns(p) || inTrainingOnly(p);
}

/**
 * The caveat of a protocol whose runs are all still training (see {@link inTrainingOnly}), naming
 * each run's progress, e.g. "in training for 182 epochs, no run finished yet: cosine-14 seed 0 at
 * epoch 44, step seed 0 at epoch 22"; null otherwise.
 */
export function inTrainingCaveat(p: ProtocolAnalysis): string | null {
  if (!inTrainingOnly(p)) return null;
  return `in training${trainingBudget(p)}, no run finished yet: ${trainingRunsList(p)}`;
}

/** The protocol's runs in training with a trained epoch, "cosine-14 seed 0 at epoch 44, ..." (at most 6 named); '' when none. */
function trainingRunsList(p: ProtocolAnalysis): string {
  const runs = p.arms.flatMap((a) => a.inTraining.filter((r) => r.epochs > 0).map((r) => `${a.arm} ${trainingProgress(r)}`));
  return (runs.length > 6 ? [...runs.slice(0, 5), `${runs.length - 5} more runs`] : runs).join(', ');
}

/** " for 182 epochs" (the protocol's epoch budget), or '' when it has none. */
function trainingBudget(p: ProtocolAnalysis): string {
  return p.setup.maxEpochs === null ? '' : ` for ${p.setup.maxEpochs} epochs`;
}

/**
 * The caveat of a protocol with finished runs whose other runs are still training, naming each
 * of those with its epoch, e.g. "still in training for 182 epochs: step seed 0 at epoch 97"; null
 * when no run with a trained epoch is still training, or when no run has finished (then
 * {@link inTrainingCaveat} applies).
 */
export function stillTrainingRuns(p: ProtocolAnalysis): string | null {
  if (!hasFinishedRuns(p)) return null;
  const runs = trainingRunsList(p);
  return runs ? `still in training${trainingBudget(p)}: ${runs}` : null;
}

/** Runs of a protocol that are not finished, as counted by its arms: running (started or waiting) and failed. */
export function unfinishedCounts(p: ProtocolAnalysis): { running: number; failed: number } {
  return { running: p.arms.reduce((s, a) => s + a.running, 0), failed: p.arms.reduce((s, a) => s + a.failed, 0) };
}
