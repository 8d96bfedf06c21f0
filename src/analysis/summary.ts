/**
 * Per-arm summaries and between-arm tests of the experiment, as danfo DataFrames and text.
 */
import type { RunRecord } from '../runs/types';
import { describe as describeSample } from './stats/describe';
import { welchTTest } from './stats/welchTTest';

/** One arm's figures. Times are epochs (1-based epoch at which validation accuracy first reached the target) and training seconds. */
export interface ArmSummary {
  protocol: string;
  arm: string;
  /** Runs finished (completed, censored, diverged) — failed and running runs are excluded and counted apart. */
  n: number;
  reached: number;
  censored: number;
  diverged: number;
  failed: number;
  running: number;
  target: number | null;
  epochsMean: number | null;
  epochsMedian: number | null;
  epochsSd: number | null;
  secondsMean: number | null;
  secondsMedian: number | null;
  secondsSd: number | null;
  /** Final test error (1 - final test accuracy), fraction. */
  testErrorMean: number | null;
  testErrorSd: number | null;
  epochsCompletedMean: number | null;
}

const FINISHED = new Set(['completed', 'censored', 'diverged']);

function stats(x: number[]): { mean: number | null; median: number | null; sd: number | null } {
  if (x.length === 0) return { mean: null, median: null, sd: null };
  const d = describeSample(x);
  return { mean: d.mean, median: d.median, sd: x.length > 1 ? d.sd : null };
}

/**
 * Per-arm summary of runs (arms in order of first appearance).
 * Time-to-target statistics use only runs that reached the target (censored runs are counted, not
 * averaged: see the Kaplan–Meier analysis for the censoring-aware view).
 */
export function summarizeArms(runs: RunRecord[]): ArmSummary[] {
  const arms = [...new Set(runs.map((r) => `${r.protocol}\u0000${r.arm}`))];
  return arms.map((key) => {
    const [protocol, arm] = key.split('\u0000');
    const all = runs.filter((r) => r.protocol === protocol && r.arm === arm);
    const done = all.filter((r) => FINISHED.has(r.status));
    const reachedRuns = done.filter((r) => r.epochsToTarget !== null);
    const e = stats(reachedRuns.map((r) => r.epochsToTarget!));
    const s = stats(reachedRuns.map((r) => r.secondsToTarget!));
    const te = stats(done.filter((r) => r.status !== 'diverged' && r.finalTestAccuracy !== null).map((r) => 1 - r.finalTestAccuracy!));
    const ec = stats(done.map((r) => r.epochsCompleted));
    return {
      protocol, arm, n: done.length, reached: reachedRuns.length,
      censored: done.filter((r) => r.target !== null && r.epochsToTarget === null && r.status !== 'diverged').length,
      diverged: done.filter((r) => r.status === 'diverged').length,
      failed: all.filter((r) => r.status === 'failed').length,
      running: all.filter((r) => r.status === 'running').length,
      target: all[0]?.target ?? null,
      epochsMean: e.mean, epochsMedian: e.median, epochsSd: e.sd,
      secondsMean: s.mean, secondsMedian: s.median, secondsSd: s.sd,
      testErrorMean: te.mean, testErrorSd: te.sd, epochsCompletedMean: ec.mean,
    };
  });
}

/** A Welch test between two arms on one measure, or why it could not be done. */
export interface ArmComparison {
  measure: 'epochs to target' | 'seconds to target' | 'final test error';
  armA: string;
  armB: string;
  nA: number;
  nB: number;
  t: number | null;
  df: number | null;
  p: number | null;
  meanDifference: number | null;
  ci: [number, number] | null;
  note: string | null;
}

/**
 * Welch t-tests (two-sided) between two arms: epochs and seconds to target among runs that reached
 * it (naive: censored runs excluded, see the note), and final test error.
 */
export function compareArms(runs: RunRecord[], armA: string, armB: string): ArmComparison[] {
  const pick = (arm: string) => runs.filter((r) => r.arm === arm && FINISHED.has(r.status));
  const a = pick(armA);
  const b = pick(armB);
  const measures: [ArmComparison['measure'], (r: RunRecord) => number | null][] = [
    ['epochs to target', (r) => r.epochsToTarget],
    ['seconds to target', (r) => r.secondsToTarget],
    ['final test error', (r) => (r.status !== 'diverged' && r.finalTestAccuracy !== null ? 1 - r.finalTestAccuracy : null)],
  ];
  return measures.map(([measure, f]) => {
    const xa = a.map(f).filter((v): v is number => v !== null);
    const xb = b.map(f).filter((v): v is number => v !== null);
    const censoredNote = measure !== 'final test error' && (xa.length < a.length || xb.length < b.length)
      ? `${a.length - xa.length} + ${b.length - xb.length} censored runs excluded (naive test; see Kaplan–Meier / log-rank)`
      : null;
    const base = { measure, armA, armB, nA: xa.length, nB: xb.length };
    if (xa.length < 2 || xb.length < 2) {
      return { ...base, t: null, df: null, p: null, meanDifference: null, ci: null, note: `not enough runs for a t-test (need n >= 2 per arm, have ${xa.length} and ${xb.length})` };
    }
    const w = welchTTest(xa, xb);
    const note = [censoredNote, w.note ?? null].filter(Boolean).join('; ') || null;
    return { ...base, t: w.t, df: w.df, p: w.p, meanDifference: w.meanDifference, ci: [w.ci[0], w.ci[1]], note };
  });
}

const fmt = (x: number | null, digits = 2) => (x === null || x === undefined ? '-' : Number.isInteger(x) && digits <= 2 ? String(x) : x.toFixed(digits));

/** Plain-text table of arm summaries (fixed-width columns). */
export function formatArmTable(rows: ArmSummary[]): string {
  const header = ['protocol', 'arm', 'n', 'reached', 'censored', 'diverged', 'failed', 'running', 'target', 'epochs mean', 'median', 'sd', 'seconds mean', 'median', 'sd', 'test error mean', 'sd'];
  const body = rows.map((r) => [r.protocol, r.arm, String(r.n), String(r.reached), String(r.censored), String(r.diverged), String(r.failed), String(r.running),
    r.target === null ? '-' : String(r.target), fmt(r.epochsMean), fmt(r.epochsMedian, 1), fmt(r.epochsSd), fmt(r.secondsMean, 1),
    fmt(r.secondsMedian, 1), fmt(r.secondsSd, 1), r.testErrorMean === null ? '-' : `${(100 * r.testErrorMean).toFixed(2)}%`,
    r.testErrorSd === null ? '-' : `${(100 * r.testErrorSd).toFixed(2)}%`]);
  return table([header, ...body]);
}

/** Plain-text table of comparisons. */
export function formatComparisons(rows: ArmComparison[]): string {
  const header = ['measure', 'arms (A - B)', 'nA', 'nB', 'mean diff', '95% CI', 't', 'Welch df', 'p (two-sided)', 'note'];
  const body = rows.map((c) => [c.measure, `${c.armA} - ${c.armB}`, String(c.nA), String(c.nB),
    c.meanDifference === null ? '-' : c.meanDifference.toPrecision(4),
    c.ci ? `[${c.ci[0].toPrecision(4)}, ${c.ci[1].toPrecision(4)}]` : '-',
    c.t === null ? '-' : c.t.toFixed(3), c.df === null ? '-' : c.df.toFixed(2), c.p === null ? '-' : c.p.toPrecision(3), c.note ?? '']);
  return table([header, ...body]);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r, k) => {
    const line = r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    return k === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}
