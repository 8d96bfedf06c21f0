/**
 * The reference figures and the definitions every view of the analysis shares, each defined once:
 * the ResNet paper's test error, the original study's medians and accuracies, what a "finished"
 * run is and what its "final test error" is. Units: fractions (0.0875, not 8.75%).
 */
import type { RunRecord } from '../../store/types';

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


import { FINISHED_STATUSES } from '../../train/records';

export { FINISHED_STATUSES };

/** Whether a run is finished ({@link FINISHED_STATUSES}). */
export function isFinished(r: Pick<RunRecord, 'status'>): boolean {
  return FINISHED_STATUSES.has(r.status);
}

/**
 * Final test error of a run as a fraction (1 - test accuracy after its last epoch): only for
 * finished, non-diverged runs with a test accuracy; null otherwise.
 */
export function finalTestError(r: Pick<RunRecord, 'status' | 'finalTestAccuracy'>): number | null {
  return r.status !== 'diverged' && r.finalTestAccuracy !== null && isFinished(r) ? 1 - r.finalTestAccuracy : null;
}

/**
 * Differences of interest for the power analysis, from the original study: 30.5 - 21 = 9.5 epochs
 * to 85% (race-to-85, step - SGDR, read as SGDR - step = -9.5) and 91.10% - 90.98% = 0.12
 * percentage points of test accuracy between SGDR cycles 14 and 7 (full-182). Units of the measure.
 */
export const REFERENCE_DIFFERENCES: readonly { protocol: string; measure: 'epochs to target' | 'final test error'; difference: number; label: string }[] = [
  { protocol: 'race-to-85', measure: 'epochs to target', difference: ORIGINAL_STUDY.medianEpochsTo85.cosine - ORIGINAL_STUDY.medianEpochsTo85.step, label: "the original study's 21 vs 30.5 median epochs" },
  { protocol: 'full-182', measure: 'final test error', difference: ORIGINAL_STUDY.meanTestAccuracy[14] - ORIGINAL_STUDY.meanTestAccuracy[7], label: "the original study's 90.98% vs 91.10% accuracy (cycle 7 vs 14)" },
];
