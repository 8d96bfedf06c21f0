/**
 * The validation bands the validation figure draws: per arm and epoch, the median and quartiles of
 * validation accuracy over the runs (finished runs carried forward at their last value).
 */
import type { EpochRecord, RunRecord } from '../../store/types';
import { quantile } from '../stats/interval';
import { isFinished } from './reference';

/** Per-arm, per-epoch summary of validation accuracy (fractions), as plotted by the validation figure (charts/validation.ts). */
export interface ValidationEpochSummary {
  epoch: number;
  /** Runs in the statistics at this epoch: `training` + `carried`. */
  n: number;
  /** Runs with a record at this epoch (still training). */
  training: number;
  /** Finished runs that had stopped before this epoch, counted at their last validation accuracy. */
  carried: number;
  q1: number;
  median: number;
  q3: number;
}


/**
 * Per-epoch median and quartiles (type-7 linear interpolation) of validation accuracy of each arm.
 *
 * Runs stop at different epochs: with a stop rule, the runs that reach the target first stop
 * first, so the runs still training at a late epoch are the slow ones and their median makes the
 * arm look worse than it is. Therefore, by default (`carryForward` true), a *finished* run
 * (status completed, censored or diverged) that stopped before the arm's last epoch enters every
 * later epoch's statistics, up to the arm's last epoch, with its last recorded validation accuracy
 * ("last observation carried forward"). This is conservative for runs that stopped at the target
 * (they would have gone on improving). Runs still running and failed runs are not carried (they did
 * not stop as a training outcome). With `carryForward` false only the runs with a record at the
 * epoch count.
 *
 * Epoch records of runs not in `runs` are ignored; a duplicated (runId, epoch) keeps the last record;
 * epochs with fewer than `minRuns` runs in the statistics (training + carried) are left out.
 */
export function validationSummaryByArm(
  epochs: readonly EpochRecord[],
  runs: readonly RunRecord[],
  minRuns = 1,
  carryForward = true,
): Map<string, ValidationEpochSummary[]> {
  const runById = new Map(runs.map((r) => [r.runId, r]));
  // arm -> runId -> epoch -> accuracy
  const perArm = new Map<string, Map<string, Map<number, number>>>();
  for (const e of epochs) {
    const run = runById.get(e.runId);
    if (run === undefined || !Number.isFinite(e.validationAccuracy)) continue;
    if (!perArm.has(run.arm)) perArm.set(run.arm, new Map());
    const byRun = perArm.get(run.arm)!;
    if (!byRun.has(e.runId)) byRun.set(e.runId, new Map());
    byRun.get(e.runId)!.set(e.epoch, e.validationAccuracy);
  }
  const out = new Map<string, ValidationEpochSummary[]>();
  for (const [arm, byRun] of perArm) {
    const epochSet = new Set<number>();
    for (const rows of byRun.values()) for (const ep of rows.keys()) epochSet.add(ep);
    const armEpochs = [...epochSet].sort((a, b) => a - b);
    // Last record of each finished run, to carry forward.
    const lastOf = new Map<string, { epoch: number; accuracy: number }>();
    for (const [runId, rows] of byRun) {
      if (!carryForward || !isFinished(runById.get(runId)!)) continue;
      const lastEpoch = Math.max(...rows.keys());
      lastOf.set(runId, { epoch: lastEpoch, accuracy: rows.get(lastEpoch)! });
    }
    const summaries: ValidationEpochSummary[] = [];
    for (const epoch of armEpochs) {
      const values: number[] = [];
      let training = 0;
      let carried = 0;
      for (const [runId, rows] of byRun) {
        const v = rows.get(epoch);
        if (v !== undefined) {
          values.push(v);
          training++;
          continue;
        }
        const last = lastOf.get(runId);
        if (last && last.epoch < epoch) {
          values.push(last.accuracy);
          carried++;
        }
      }
      if (values.length < minRuns || values.length === 0) continue;
      summaries.push({
        epoch, n: values.length, training, carried,
        q1: quantile(values, 0.25), median: quantile(values, 0.5), q3: quantile(values, 0.75),
      });
    }
    out.set(arm, summaries);
  }
  return out;
}
