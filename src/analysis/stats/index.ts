/**
 * Statistics for comparing training schedules (SGDR vs step decay): two-sample and one-sample
 * t-tests, Hedges' g, Mann–Whitney U, Kaplan–Meier time-to-target curves, the log-rank test,
 * descriptive summaries and the distribution functions they use (Student t, normal, chi-square,
 * via jStat). Each function documents its inputs, edge cases and reference implementation
 * (SciPy / R); test/fixtures/stats-*.json hold reference values produced by
 * scripts/fixtures/stats_scipy.py and scripts/fixtures/stats_survival.R.
 */
export type { TestAlternative, ConfidenceInterval } from './types';
export { welchTTest } from './welchTTest';
export type { WelchTTestOptions, WelchTTestResult } from './welchTTest';
export { oneSampleTTest } from './oneSampleTTest';
export type { OneSampleTTestOptions, OneSampleTTestResult } from './oneSampleTTest';
export { hedgesG } from './hedgesG';
export type { HedgesGOptions, HedgesGResult } from './hedgesG';
export { mannWhitneyU } from './mannWhitneyU';
export type { MannWhitneyUOptions, MannWhitneyUResult } from './mannWhitneyU';
export { kaplanMeier } from './kaplanMeier';
export type { KaplanMeierOptions, KaplanMeierResult, KaplanMeierMedian, KaplanMeierConfType } from './kaplanMeier';
export { logRankTest } from './logRankTest';
export type { LogRankGroup, LogRankOptions, LogRankResult } from './logRankTest';
export { describe } from './describe';
export type { DescribeResult } from './describe';
export { studentTCdf, studentTSf, studentTQuantile, normalCdf, normalSf, normalQuantile, chiSquareSf } from './distributions';
export { tTestPower, tTestSampleSize, tTestDetectableDifference } from './power';
export type { PowerOptions } from './power';
export { quantile, meanInterval } from './interval';
export type { MeanInterval } from './interval';
