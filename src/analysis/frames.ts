/**
 * danfo DataFrames of saved runs and epochs and of the analysis model, for notebooks (danfojs-node,
 * sharing this process's single tfjs engine through the package.json override). The arm and
 * comparison frames render a {@link ProtocolAnalysis}: the same numbers as the CLI text and the
 * report, in the model's units (fractions, epochs, seconds) and direction (A − B, step as B).
 */
import type { EpochRecord, RunRecord } from '../store/types';
import { finalTestError, type ProtocolAnalysis } from './model';

type DanfoModule = typeof import('danfojs-node');
let danfo: DanfoModule | null = null;

/** danfojs-node, loaded on first use (it takes a few seconds). */
export function dfd(): DanfoModule {
  if (!danfo) danfo = require('danfojs-node') as DanfoModule;
  return danfo;
}

const num = (x: number | null | undefined) => (x === null || x === undefined ? NaN : x);

/**
 * One row per run: runId, protocol, arm, seed, status, backend, reached (0/1), epochsToTarget,
 * secondsToTarget, epochsCompleted, finalTestAccuracy, finalTestError (of finished, non-diverged
 * runs), bestValidationAccuracy, testAccuracyAtBestValidation (nulls become NaN, as danfo stores
 * missing numbers).
 */
export function runsFrame(runs: RunRecord[]) {
  return new (dfd().DataFrame)(runs.map((r) => ({
    runId: r.runId, protocol: r.protocol, arm: r.arm, seed: r.seed, status: r.status, backend: r.backend,
    reached: r.epochsToTarget !== null ? 1 : 0, epochsToTarget: num(r.epochsToTarget), secondsToTarget: num(r.secondsToTarget),
    epochsCompleted: r.epochsCompleted, finalTestAccuracy: num(r.finalTestAccuracy),
    finalTestError: num(finalTestError(r)),
    bestValidationAccuracy: num(r.bestValidationAccuracy), testAccuracyAtBestValidation: num(r.testAccuracyAtBestValidation),
  })));
}

/** One row per epoch of every run (EpochRecord fields), joined with the run's arm and seed. */
export function epochsFrame(epochs: EpochRecord[], runs: RunRecord[]) {
  const byId = new Map(runs.map((r) => [r.runId, r]));
  return new (dfd().DataFrame)(epochs.map((e) => ({ arm: byId.get(e.runId)?.arm ?? '', seed: byId.get(e.runId)?.seed ?? -1, ...e })));
}

/**
 * One row per protocol and arm of the analysis: finished, reached, censored, diverged, failed,
 * running; Kaplan–Meier median epochs / seconds to target with 95% CI (kmEpochs, kmEpochsLower,
 * kmEpochsUpper, kmSeconds...); final test error mean with its 95% t interval (fractions).
 * Missing values are NaN.
 * @param analyses from analyzeResults / analyzeProtocol
 */
export function armFrame(analyses: readonly ProtocolAnalysis[]) {
  return new (dfd().DataFrame)(analyses.flatMap((p) => p.arms.map((a) => ({
    protocol: p.protocol, arm: a.arm, finished: a.n, reached: a.reached, censored: a.censored, diverged: a.diverged, failed: a.failed, running: a.running,
    kmEpochs: num(a.kmEpochs?.median), kmEpochsLower: num(a.kmEpochs?.lower), kmEpochsUpper: num(a.kmEpochs?.upper),
    kmSeconds: num(a.kmSeconds?.median), kmSecondsLower: num(a.kmSeconds?.lower), kmSecondsUpper: num(a.kmSeconds?.upper),
    testErrorMean: num(a.testError?.mean), testErrorLower: num(a.testError?.ci?.[0]), testErrorUpper: num(a.testError?.ci?.[1]),
  }))));
}

/**
 * One row per between-arm comparison of the analysis, in its direction (A − B): measure, armA,
 * armB, nA, nB, meanA, meanB, difference, ciLower, ciUpper, t, df, p (Welch), hedgesG, mannWhitneyP,
 * detectableDifference and runsForObserved (power, 80%). Values in the measure's units (test error
 * as a fraction, not percentage points). Missing values are NaN.
 * @param analyses from analyzeResults / analyzeProtocol
 */
export function comparisonFrame(analyses: readonly ProtocolAnalysis[]) {
  return new (dfd().DataFrame)(analyses.flatMap((p) => p.comparisons.map((c) => ({
    protocol: p.protocol, measure: c.measure, armA: c.armA, armB: c.armB, nA: c.nA, nB: c.nB,
    meanA: num(c.welch?.meanA), meanB: num(c.welch?.meanB), difference: num(c.welch?.meanDifference),
    ciLower: num(c.welch?.ci[0]), ciUpper: num(c.welch?.ci[1]), t: num(c.welch?.t), df: num(c.welch?.df), p: num(c.welch?.p),
    hedgesG: num(c.hedges?.g), mannWhitneyP: num(c.mannWhitney?.p),
    detectableDifference: num(c.power?.detectableDifference), runsForObserved: num(c.power?.runsForObserved),
  }))));
}
