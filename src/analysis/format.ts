/**
 * Number formats shared by every view of the analysis model (CLI text, markdown report, notebook
 * tables), so that one number prints the same everywhere: fractions as percentages, test-error
 * differences in percentage points, p-values with 3 significant digits, missing values as a dash.
 */
import { targetPercent, type Measure, type MeasureComparison, type SurvivalSummary } from './model';

export const DASH = '–';

/** Fixed decimals; a dash for null. */
export function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || Number.isNaN(x)) return DASH;
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '−∞';
  return x.toFixed(digits);
}

/** p-value with 3 significant digits (e.g. 0.0551, 4.91e-11). */
export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return DASH;
  if (p === 0) return '0 (< 1e-300)';
  return p >= 1e-3 ? p.toPrecision(3) : p.toExponential(2);
}

/** A fraction as a percentage with 2 decimals. */
export function fmtPct(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || Number.isNaN(x) ? DASH : `${(100 * x).toFixed(digits)}%`;
}

/** `[lo, hi]`; a missing lower bound prints as NA, a missing upper bound as "not reached" (Kaplan–Meier band that never crosses 0.5). */
export function ci(lo: number | null | undefined, hi: number | null | undefined, f: (x: number | null) => string): string {
  const show = (v: number | null | undefined, missing: string) => (v === null || v === undefined ? missing : f(v));
  return `[${show(lo, 'NA')}, ${show(hi, 'not reached')}]`;
}

/** A target fraction as a percentage (0.85 -> 85%), or "the target". */
export function pctTarget(t: number | null): string {
  return t === null ? 'the target' : targetPercent(t);
}

/** Display scale, decimals and unit of a measure's values and differences (test error in percentage points). */
export function measureUnit(m: Measure): { scale: number; digits: number; unit: string } {
  if (m === 'final test error') return { scale: 100, digits: 3, unit: ' pp' };
  if (m === 'seconds to target') return { scale: 1, digits: 1, unit: ' s' };
  return { scale: 1, digits: 2, unit: ' epochs' };
}


/** The Welch columns of a comparison as printed by every view (values in the measure's display unit). */
export interface WelchCells {
  means: string;
  difference: string;
  ci: string;
  t: string;
  df: string;
  p: string;
}

/** Formats the Welch test of a comparison; dashes when it was not computed. */
export function welchCells(c: MeasureComparison): WelchCells {
  const w = c.welch;
  if (!w) return { means: DASH, difference: DASH, ci: DASH, t: DASH, df: DASH, p: DASH };
  const u = measureUnit(c.measure);
  const v = (x: number) => fmt(x * u.scale, u.digits);
  return {
    means: `${v(w.meanA)} vs ${v(w.meanB)}`, difference: `${v(w.meanDifference)}${u.unit}`,
    ci: ci(w.ci[0], w.ci[1], (x) => v(x as number)), t: fmt(w.t, 2), df: fmt(w.df, 1), p: fmtP(w.p),
  };
}

/** The power columns of a comparison: smallest detectable difference with the present runs, runs per arm for the observed / reference difference. */
export interface PowerCells {
  sds: string;
  detectable: string;
  forObserved: string;
  forReference: string;
}

function runsText(n: number | null): string {
  if (n === null) return DASH;
  if (!Number.isFinite(n)) return '> 10^7';
  return String(Math.ceil(n - 1e-9));
}

/** Formats the power summary of a comparison (runs per arm rounded up); dashes when not computed. */
export function powerCells(c: MeasureComparison): PowerCells {
  const p = c.power;
  if (!p) return { sds: DASH, detectable: DASH, forObserved: DASH, forReference: DASH };
  const u = measureUnit(c.measure);
  const v = (x: number) => fmt(x * u.scale, u.digits);
  return {
    sds: `${v(p.sdA)} / ${v(p.sdB)}`,
    detectable: `${v(p.detectableDifference)}${u.unit} (n = ${p.n})`,
    forObserved: `${runsText(p.runsForObserved)} (for ${v(p.observedDifference)}${u.unit})`,
    forReference: p.reference ? `${runsText(p.reference.runs)} (for ${v(p.reference.difference)}${u.unit}, ${p.reference.label})` : DASH,
  };
}

/** Kaplan–Meier median with its 95% CI, e.g. "3.0 [3.0, 4.0]", "not reached [4.0, not reached]". */
export function kmMedianText(s: SurvivalSummary | null, digits = 1): string {
  if (!s) return DASH;
  return `${s.median === null ? 'not reached' : fmt(s.median, digits)} ${ci(s.lower, s.upper, (v) => fmt(v, digits))}`;
}

/** A markdown table (pipes and newlines in cells escaped). */
export function markdownTable(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${header.map(esc).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}
