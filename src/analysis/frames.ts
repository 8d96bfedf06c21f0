/**
 * danfo DataFrames of saved runs and epochs, for notebooks (danfojs-node, sharing this process's
 * single tfjs engine through the package.json override).
 */
import type { EpochRecord, RunRecord } from '../runs/types';
import type { ArmSummary } from './summary';

type DanfoModule = typeof import('danfojs-node');
let danfo: DanfoModule | null = null;

/** danfojs-node, loaded on first use (it takes a few seconds). */
export function dfd(): DanfoModule {
  if (!danfo) danfo = require('danfojs-node') as DanfoModule;
  return danfo;
}

/**
 * One row per run: runId, protocol, arm, seed, status, backend, reached (0/1), epochsToTarget,
 * secondsToTarget, epochsCompleted, finalTestAccuracy, finalTestError, bestValidationAccuracy,
 * testAccuracyAtBestValidation (nulls become NaN, as danfo stores missing numbers).
 */
export function runsFrame(runs: RunRecord[]) {
  const num = (x: number | null) => (x === null ? NaN : x);
  return new (dfd().DataFrame)(runs.map((r) => ({
    runId: r.runId, protocol: r.protocol, arm: r.arm, seed: r.seed, status: r.status, backend: r.backend,
    reached: r.epochsToTarget !== null ? 1 : 0, epochsToTarget: num(r.epochsToTarget), secondsToTarget: num(r.secondsToTarget),
    epochsCompleted: r.epochsCompleted, finalTestAccuracy: num(r.finalTestAccuracy),
    finalTestError: r.finalTestAccuracy === null ? NaN : 1 - r.finalTestAccuracy,
    bestValidationAccuracy: num(r.bestValidationAccuracy), testAccuracyAtBestValidation: num(r.testAccuracyAtBestValidation),
  })));
}

/** One row per epoch of every run (EpochRecord fields), joined with the run's arm and seed. */
export function epochsFrame(epochs: EpochRecord[], runs: RunRecord[]) {
  const byId = new Map(runs.map((r) => [r.runId, r]));
  return new (dfd().DataFrame)(epochs.map((e) => ({ arm: byId.get(e.runId)?.arm ?? '', seed: byId.get(e.runId)?.seed ?? -1, ...e })));
}

/** The per-arm summary as a DataFrame. */
export function armSummaryFrame(rows: ArmSummary[]) {
  return new (dfd().DataFrame)(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? NaN : v]))));
}
