/**
 * Shared record types of the results store (src/runs/store.ts) used by training,
 * analysis, charts and notebooks.
 */

/** Lifecycle status of one training run. */
export type RunStatus = 'running' | 'completed' | 'censored' | 'failed' | 'diverged';

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
}

/** One run (one arm x one seed of a protocol) as stored. */
export interface RunRecord {
  runId: string;
  protocol: string;
  arm: string;
  seed: number;
  /** Full configuration (JSON-serialisable) the run was trained with. */
  config: Record<string, unknown>;
  backend: string;
  status: RunStatus;
  /** Validation-accuracy target of the stop rule, or null when the run has none. */
  target: number | null;
  /** First epoch (1-based) at which validation accuracy >= target; null if never (censored). */
  epochsToTarget: number | null;
  iterationsToTarget: number | null;
  /** Training seconds (trainSeconds) when the target was first reached. */
  secondsToTarget: number | null;
  /** Number of epochs finished. */
  epochsCompleted: number;
  finalTestAccuracy: number | null;
  bestValidationAccuracy: number | null;
  /** Test accuracy at the epoch of best validation accuracy. */
  testAccuracyAtBestValidation: number | null;
  /** Error message for failed/diverged runs. */
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}
