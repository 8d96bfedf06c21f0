/**
 * Shared record types of the results store (src/store) used by training,
 * analysis, charts and notebooks.
 */

import type { RunStatus } from '../train/records';

export type { EpochRecord, RunStatus } from '../train/records';

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
