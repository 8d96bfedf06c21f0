/**
 * What training produces, epoch by epoch: the record types the training loop emits and the results
 * store (src/store) saves. They live here, in training, so that training never imports the store.
 */

/** Lifecycle status of one training run. */
export type RunStatus = 'running' | 'completed' | 'censored' | 'failed' | 'diverged';

/** Statuses of a finished run: completed, censored (never reached the target) or diverged. Failed and running runs are neither finished nor analysed. */
export const FINISHED_STATUSES: ReadonlySet<string> = new Set(['completed', 'censored', 'diverged']);

/** One epoch's measurements, written when the epoch ends. Losses are mean cross-entropy (nats), accuracies fractions in [0, 1]. */
export interface EpochRecord {
  runId: string;
  /** 1-based epoch number. */
  epoch: number;
  /** Cumulative optimizer iterations (mini-batches) at the end of this epoch. */
  iteration: number;
  /** Learning rate used for the last iteration of the epoch. */
  learningRate: number;
  trainLoss: number;
  trainAccuracy: number;
  validationLoss: number;
  validationAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Cumulative wall-clock seconds spent in training steps only. */
  trainSeconds: number;
  /** Cumulative wall-clock seconds including evaluation. */
  totalSeconds: number;
  /**
   * Cumulative CPU seconds (user + system, every thread of the training process: process.cpuUsage)
   * spent in training steps only; null for epochs of a store written before schema 3, and for every
   * later epoch of a run resumed from such an epoch. Unlike wall seconds, it does not grow when other
   * processes load the machine, so runs trained at different loads compare.
   */
  trainCpuSeconds: number | null;
  /** Cumulative CPU seconds including evaluation (null as trainCpuSeconds). */
  totalCpuSeconds: number | null;
}

/** Summary of a run as it stands after an epoch (what the results store keeps per run). */
export interface RunSummary {
  epochsCompleted: number;
  epochsToTarget: number | null;
  iterationsToTarget: number | null;
  secondsToTarget: number | null;
  bestValidationAccuracy: number | null;
  testAccuracyAtBestValidation: number | null;
  finalTestAccuracy: number | null;
}

/** The summary of a run before its first epoch. */
export function emptySummary(): RunSummary {
  return {
    epochsCompleted: 0, epochsToTarget: null, iterationsToTarget: null, secondsToTarget: null,
    bestValidationAccuracy: null, testAccuracyAtBestValidation: null, finalTestAccuracy: null,
  };
}

/**
 * The summary after one more epoch: the one definition of "epochs to target" (first epoch whose
 * validation accuracy >= target; its iterations and training seconds), "best validation accuracy"
 * (strictly greater than every earlier epoch; the test accuracy at it) and "final test accuracy".
 * @param target validation-accuracy target, or null
 */
export function advanceSummary(s: RunSummary, r: EpochRecord, target: number | null): RunSummary {
  const out = { ...s, epochsCompleted: r.epoch, finalTestAccuracy: r.testAccuracy };
  if (out.bestValidationAccuracy === null || r.validationAccuracy > out.bestValidationAccuracy) {
    out.bestValidationAccuracy = r.validationAccuracy;
    out.testAccuracyAtBestValidation = r.testAccuracy;
  }
  if (target !== null && out.epochsToTarget === null && r.validationAccuracy >= target) {
    out.epochsToTarget = r.epoch;
    out.iterationsToTarget = r.iteration;
    out.secondsToTarget = r.trainSeconds;
  }
  return out;
}

/** The summary of a run from its epoch records (in epoch order). */
export function summarizeEpochs(records: EpochRecord[], target: number | null): RunSummary {
  return records.reduce((s, r) => advanceSummary(s, r, target), emptySummary());
}
