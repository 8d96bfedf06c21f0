/**
 * What the test-error figure draws, computed here: each run's final test error in %, the arm mean's
 * Student-t interval, and the original study's mean error for an arm (fastai 2018: 9.02% for SGDR
 * cycles of 7 epochs, 8.90% for 14), found from the arm's SGDR cycle length.
 */
import type { RunRecord } from '../../store/types';
import type { ScheduleSpec } from '../../train/config';
import { meanInterval, type MeanInterval } from '../stats/interval';
import { roundNoise } from './percent';
import { ORIGINAL_STUDY } from './reference';

/** The original study's mean test error in % by SGDR cycle length in epochs (from ORIGINAL_STUDY's accuracies); undefined for other lengths. */
export function originalStudyErrorPercent(cycle: number): number | undefined {
  const acc = ORIGINAL_STUDY.meanTestAccuracy[cycle];
  return acc === undefined ? undefined : roundNoise(100 * (1 - acc));
}

/** SGDR cycle length (epochs) of an arm's runs (their cosine schedule's cycleLengthEpochs), when they all share one. */
export function armCycleLength(arm: string, runs: readonly RunRecord[]): number | undefined {
  const lengths = new Set(runs.filter((r) => r.arm === arm).map((r) => {
    const s = (r.config as { schedule?: ScheduleSpec }).schedule;
    return s && s.kind === 'cosine' ? s.cycleLengthEpochs : undefined;
  }));
  return lengths.size === 1 ? [...lengths][0] : undefined;
}

/**
 * The original study's mean test error (%) of each arm whose runs share an SGDR cycle length the
 * study trained (armCycleLength): what the report and the notebooks put beside the arms' errors.
 * @returns arm -> error in %, only for the arms that have one
 */
export function originalStudyErrors(arms: readonly string[], runs: readonly RunRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const arm of arms) {
    const c = armCycleLength(arm, runs);
    const error = c === undefined ? undefined : originalStudyErrorPercent(c);
    if (error !== undefined) out[arm] = error;
  }
  return out;
}

/** Finds a numeric `cycleLength` anywhere in a run configuration (depth <= 4). */
function configCycleLength(config: unknown, depth = 0): number | undefined {
  if (config === null || typeof config !== 'object' || depth > 4) return undefined;
  const obj = config as Record<string, unknown>;
  if (typeof obj.cycleLength === 'number') return obj.cycleLength;
  if (typeof obj.cycleLengthEpochs === 'number') return obj.cycleLengthEpochs; // RunConfig.schedule of the protocols
  for (const v of Object.values(obj)) {
    const found = configCycleLength(v, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The original study's test error (%) for an arm of any runs (the test-error figure's default):
 * from a numeric `cycleLength` (or `cycleLengthEpochs`) anywhere in its runs' configurations when
 * they share one, else from the arm name ("cycle7", "c14", "len-7", ...).
 */
export function originalStudyErrorForArm(arm: string, runs: readonly RunRecord[]): number | undefined {
  const lengths = new Set(runs.filter((r) => r.arm === arm).map((r) => configCycleLength(r.config)));
  if (lengths.size === 1) {
    const len = [...lengths][0];
    if (len !== undefined) return originalStudyErrorPercent(len);
  }
  const m = /(?:cycle|c|len|l)[-_ =]?0*(7|14)(?!\d)/i.exec(arm);
  return m ? originalStudyErrorPercent(Number(m[1])) : undefined;
}

/** One arm's final test errors as the test-error figure draws them. */
export interface ArmTestErrorPoints {
  /** The arm's runs with a final test accuracy, in the order given. */
  runs: RunRecord[];
  /** 100 · (1 − finalTestAccuracy) of each, in %. */
  errors: number[];
  /** Student-t interval of the mean error (%) at `level` (NaN bounds for one run). */
  ci: MeanInterval;
}

/**
 * The final test errors (%) of an arm's runs and the mean's Student-t interval (analysis/stats meanInterval).
 * @param runs runs with a finite finalTestAccuracy (others are the caller's to leave out)
 * @param level confidence level in (0, 1)
 * @throws Error when the arm has no such run (meanInterval of an empty sample)
 */
export function armTestErrorPoints(arm: string, runs: readonly RunRecord[], level: number): ArmTestErrorPoints {
  const armRuns = runs.filter((r) => r.arm === arm);
  const errors = armRuns.map((r) => roundNoise(100 * (1 - (r.finalTestAccuracy as number))));
  return { runs: armRuns, errors, ci: meanInterval(errors, level) };
}
