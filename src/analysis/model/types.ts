/**
 * The types of the analysis model (src/analysis/model): what every view renders. Units: epochs,
 * training seconds, test error as a fraction; comparisons read A − B (protocol order, step as B).
 */
import type { ProtocolSpec } from '../../runs/protocols';
import type { DescribeResult } from '../stats/describe';
import type { HedgesGResult } from '../stats/hedgesG';
import type { KaplanMeierResult } from '../stats/kaplanMeier';
import type { LogRankResult } from '../stats/logRankTest';
import type { MannWhitneyUResult } from '../stats/mannWhitneyU';
import type { OneSampleTTestResult } from '../stats/oneSampleTTest';
import type { WelchTTestResult } from '../stats/welchTTest';

/** Summary of a sample (units of the data; sd null when n = 1), from analysis/stats describe(). */
export type SampleSummary = Pick<DescribeResult, 'n' | 'mean' | 'median' | 'sd' | 'min' | 'max'>;

/** Kaplan–Meier median time to target of one arm. */
export interface SurvivalSummary {
  /** The arm's Kaplan–Meier estimate (curve, Greenwood band, censoring times) that the figures draw. */
  curve: KaplanMeierResult;
  /** Runs in the estimate (reached + censored). */
  n: number;
  events: number;
  censored: number;
  /** Median (first time the curve is <= 0.5) and its 95% CI (log-transformed Greenwood band, R's default); null = not reached. */
  median: number | null;
  lower: number | null;
  upper: number | null;
  /** Largest censoring time (the budget of censored runs), null when nothing is censored. */
  maxCensorTime: number | null;
  /** Why the median (or a bound) is missing, when it is. */
  note: string | null;
}

export interface ArmAnalysis {
  protocol: string;
  arm: string;
  /** The arm's schedule in words (from the protocol), '' when unknown. */
  description: string;
  /** Finished runs (completed, censored, diverged). */
  n: number;
  reached: number;
  censored: number;
  diverged: number;
  failed: number;
  running: number;
  /** Runs still training (status running) and the epochs each has completed so far (the run's epochsCompleted), in seed order; [] when none. */
  inTraining: { seed: number; epochs: number }[];
  target: number | null;
  /** Epochs / training seconds to target among runs that reached it (naive: censored runs excluded). */
  epochs: SampleSummary | null;
  seconds: SampleSummary | null;
  /** Final test error (fraction) of finished, non-diverged runs, with the t interval of the mean. */
  testError: (SampleSummary & { ci: [number, number] | null }) | null;
  /** One-sample t-test of the test error against the ResNet paper's 8.75% (PAPER_TEST_ERROR); null with `testErrorNote` when not possible. */
  testErrorVsPaper: OneSampleTTestResult | null;
  testErrorNote: string | null;
  /** Kaplan–Meier medians (epochs, seconds), null with a note when the arm has no usable runs. */
  kmEpochs: SurvivalSummary | null;
  kmSeconds: SurvivalSummary | null;
  /**
   * Kaplan–Meier median training CPU seconds to target (all threads of the training process), null
   * with a note when the runs' epochs predate CPU seconds (store schema 3). Wall seconds compare arms
   * only when their runs trained under the same load; CPU seconds do not grow with other load.
   */
  kmCpuSeconds: SurvivalSummary | null;
  /** Runs not in the survival analysis and why (running, failed, diverged). */
  survivalExcluded: string[];
  /** Sentences about the arm (no runs, all censored, ...). */
  notes: string[];
}

export type Measure = 'epochs to target' | 'seconds to target' | 'final test error';

/**
 * Power of the Welch test of one comparison (two-sided, alpha 0.05, 80% power), from the arms'
 * sample SDs: runs per arm needed for the observed difference and for the reference difference
 * (when the protocol has one), and the smallest difference the present runs detect.
 * Units are those of the measure (epochs, seconds, test error as a fraction).
 */
export interface PowerSummary {
  alpha: number;
  power: number;
  sdA: number;
  sdB: number;
  /** Runs per arm of the present runs used for the detectable difference: min(nA, nB). */
  n: number;
  /** Smallest |A - B| that n runs per arm detect with 80% power. */
  detectableDifference: number;
  /** Observed mean difference A - B and the runs per arm (continuous; round up) it needs; Infinity beyond 1e7. */
  observedDifference: number;
  runsForObserved: number | null;
  /** A difference of interest (e.g. the original study's) and the runs per arm it needs; null when the protocol has none. */
  reference: { difference: number; label: string; runs: number } | null;
}

/** Between-arm tests on one measure (A - B). */
export interface MeasureComparison {
  measure: Measure;
  armA: string;
  armB: string;
  nA: number;
  nB: number;
  /** Finished runs of A / B left out because they never reached the target (time measures only). */
  censoredExcludedA: number;
  censoredExcludedB: number;
  welch: WelchTTestResult | null;
  welchNote: string | null;
  hedges: HedgesGResult | null;
  hedgesNote: string | null;
  mannWhitney: MannWhitneyUResult | null;
  mannWhitneyNote: string | null;
  /** Power of the Welch test; null with `powerNote` when the arms have fewer than 2 runs or no spread. */
  power: PowerSummary | null;
  powerNote: string | null;
}

export interface LogRankSummary {
  metric: 'epochs' | 'seconds' | 'cpu-seconds';
  arms: string[];
  result: LogRankResult | null;
  note: string | null;
}

export interface ProtocolAnalysis {
  protocol: string;
  /** The protocol's definition when it is a known protocol. */
  spec: ProtocolSpec | null;
  target: number | null;
  stopAtTarget: boolean | null;
  /** Data / budget of the runs (from the first run's configuration). */
  setup: { dataset: string; trainFraction: number | null; maxEpochs: number | null; batchSize: number | null; validationCount: number | null; testCount: number | null | undefined };
  runs: number;
  /** How the runs' setup differs from the protocol's definition (shorter, subset data, fewer seeds): sentences. */
  deviations: string[];
  /**
   * The deviations that change what is measured (epoch budget, data, train fraction, target; not
   * the number of seeds): when there are any, the protocol's p-values and the comparison with the
   * paper's 8.75% are not interpretable as tests of the protocol's question.
   */
  setupDeviations: string[];
  /** Short form of `setupDeviations` for figure subtitles, e.g. "runs of 2 epochs on cifar-10-subset — not the full-182 protocol"; null when none. */
  deviationCaveat: string | null;
  arms: ArmAnalysis[];
  comparisons: MeasureComparison[];
  logRank: LogRankSummary[];
  notes: string[];
}
