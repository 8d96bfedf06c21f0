/**
 * Time to target as (possibly right-censored) observations, one per run: what the Kaplan–Meier
 * estimates, the log-rank tests and the time-to-target figures are computed from.
 */
import type { EpochRecord, RunRecord } from '../../store/types';

/**
 * Which time-to-target measure: epochs, training wall seconds, or training CPU seconds (every thread
 * of the training process; unlike wall seconds, not inflated by other load on a shared machine).
 */
export type TimeToTargetMetric = 'epochs' | 'seconds' | 'cpu-seconds';

/** One run as a (possibly right-censored) time-to-target observation. */
export interface TimeToTargetPoint {
  runId: string;
  arm: string;
  seed: number;
  /** Time to target (event) or censoring time, in epochs or training seconds. */
  time: number;
  /** true: the run reached the target at `time`; false: right-censored at `time` (never reached it). */
  reached: boolean;
}

/** Result of {@link timeToTargetPoints}: usable points plus the runs left out and why. */
export interface TimeToTargetData {
  points: TimeToTargetPoint[];
  excluded: Array<{ runId: string; arm: string; reason: string }>;
}

/**
 * Converts runs into time-to-target observations.
 *
 * - `epochsToTarget != null`: reached; time = epochsToTarget (or secondsToTarget).
 * - otherwise status 'censored' or 'completed' (finished without reaching the target): right-censored
 *   at `epochsCompleted` epochs, or for seconds at the run's last `trainSeconds` (needs `epochs`;
 *   without them such runs are excluded with a reason).
 * - other runs ('running', 'failed', 'diverged' without reaching the target) are excluded with a reason.
 *
 * The `{ time, reached }` pairs are what a Kaplan-Meier estimator takes (event = reached).
 */
export function timeToTargetPoints(runs: readonly RunRecord[], metric: TimeToTargetMetric = 'epochs', epochs?: readonly EpochRecord[]): TimeToTargetData {
  const lastSeconds = new Map<string, { epoch: number; seconds: number | null }>();
  const cpuAt = new Map<string, number | null>();
  for (const e of epochs ?? []) {
    const seconds = metric === 'cpu-seconds' ? e.trainCpuSeconds ?? null : e.trainSeconds;
    const prev = lastSeconds.get(e.runId);
    if (!prev || e.epoch >= prev.epoch) lastSeconds.set(e.runId, { epoch: e.epoch, seconds });
    cpuAt.set(`${e.runId}\t${e.epoch}`, e.trainCpuSeconds ?? null);
  }
  const points: TimeToTargetPoint[] = [];
  const excluded: TimeToTargetData['excluded'] = [];
  for (const r of runs) {
    const base = { runId: r.runId, arm: r.arm, seed: r.seed };
    if (r.epochsToTarget != null) {
      const time = metric === 'epochs' ? r.epochsToTarget : metric === 'seconds' ? r.secondsToTarget : cpuAt.get(`${r.runId}\t${r.epochsToTarget}`) ?? null;
      if (time == null || !Number.isFinite(time)) {
        excluded.push({ ...base, reason: metric === 'cpu-seconds' ? 'reached target; its epoch has no CPU seconds (recorded from store schema 3 on)' : `reached target but ${metric}ToTarget is missing` });
      } else points.push({ ...base, time, reached: true });
      continue;
    }
    if (r.status === 'censored' || r.status === 'completed') {
      if (metric === 'epochs') {
        points.push({ ...base, time: r.epochsCompleted, reached: false });
      } else {
        const last = lastSeconds.get(r.runId);
        if (last && last.seconds !== null) points.push({ ...base, time: last.seconds, reached: false });
        else excluded.push({ ...base, reason: `censored; no epoch records to get its censoring time in ${metric === 'cpu-seconds' ? 'CPU seconds' : 'seconds'}` });
      }
      continue;
    }
    excluded.push({ ...base, reason: `status ${r.status}` });
  }
  return { points, excluded };
}
