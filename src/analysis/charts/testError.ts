import type { RunRecord } from '../../store/types';
import { armColors, orderArms } from './colors';
import type { CommonFigureOptions, PlotlyFigure, PlotlyTrace } from './types';
import { clean, fmt, jitterFor } from './util';
import { armTestErrorPoints, originalStudyErrorForArm, PAPER_TEST_ERROR } from '../model';

export { originalStudyErrorForArm } from '../model';

/** {@link PAPER_TEST_ERROR} in % (the unit of this chart's axis). */
const PAPER_ERROR_PCT = clean(100 * PAPER_TEST_ERROR);

export interface TestErrorFigureOptions extends CommonFigureOptions {
  /** Horizontal reference line (default: the ResNet paper's {@link PAPER_TEST_ERROR} in %, 8.75); `null` for none. */
  paperError?: number | null;
  /**
   * The original study's error (%) per arm. Default: detected per arm from the runs' configuration
   * (a numeric `cycleLength` key anywhere in `config`, in epochs: 7 -> 9.02, 14 -> 8.90), else from
   * the arm name ("cycle7", "c14", "len-7", ...). `false` disables the markers.
   */
  originalStudy?: Record<string, number> | false;
  /** Confidence level of the interval around the mean (default 0.95; Student t). */
  confidenceLevel?: number;
  /** Total jitter width of the run points (default 0.3). */
  jitter?: number;
}

/**
 * Final test error, 100 * (1 - finalTestAccuracy) in %, per arm: every run as a jittered point,
 * the arm mean with a Student-t confidence interval (error bar, default 95%), a horizontal dashed
 * line at the ResNet paper's 8.75%, and the original study's mean error for the arm as a diamond.
 * Arms are at x = 0, 1, ... (tick labels = arm names). Runs without finalTestAccuracy are skipped.
 * The subtitle names only the markers drawn (diamonds only when some arm has an original-study figure).
 *
 * Traces: per arm `"<arm> runs (n=k)"` (customdata = runIds), `"<arm> mean ± 95% CI"` (one point, named
 * `"<arm> mean (n=1: no CI)"` without an error bar for a single run,
 * `error_y.array` = [half width], `meta` = { mean, lower, upper, n }); then `"original study ..."`
 * (x = arm positions, y = errors) when any arm matches, and `"ResNet paper: 8.75%"`.
 */
export function testErrorFigure(runs: readonly RunRecord[], opts: TestErrorFigureOptions = {}): PlotlyFigure {
  const usable = runs.filter((r) => r.finalTestAccuracy != null && Number.isFinite(r.finalTestAccuracy));
  const arms = orderArms(usable.map((r) => r.arm), opts.arms);
  const colors = armColors(arms, opts.colors);
  const level = opts.confidenceLevel ?? 0.95;
  const levelText = `${fmt(level * 100)}% CI`;
  const jitterWidth = opts.jitter ?? 0.3;
  const data: PlotlyTrace[] = [];
  const original: Array<{ i: number; arm: string; error: number }> = [];
  let anyCi = false;
  const drawnY: number[] = []; // every y drawn (points, interval ends, diamonds, paper line): the axis range covers them
  arms.forEach((arm, i) => {
    const { runs: armRuns, errors, ci } = armTestErrorPoints(arm, usable, level);
    const color = colors[arm];
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `${arm} runs (n=${armRuns.length})`,
      legendgroup: arm,
      x: armRuns.map((r) => clean(i - 0.1 + jitterFor(r.runId, jitterWidth))),
      y: errors,
      customdata: armRuns.map((r) => r.runId),
      marker: { color, size: 8, opacity: 0.7 },
      hovertemplate: `%{customdata}<br>test error %{y:.2f}%<extra>${arm}</extra>`,
    });
    // one run has no interval: its square is the run's error, named so, with no error bar
    const withCi = ci.n >= 2 && Number.isFinite(ci.halfWidth);
    anyCi ||= withCi;
    drawnY.push(...errors, ...(withCi ? [ci.lower, ci.upper] : [ci.mean]));
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: withCi ? `${arm} mean ± ${levelText}` : `${arm} mean (n=${ci.n}: no CI)`,
      legendgroup: arm,
      x: [i + 0.25],
      y: [clean(ci.mean)],
      error_y: { type: 'data', symmetric: true, array: [withCi ? clean(ci.halfWidth) : 0], visible: withCi, color, thickness: 2, width: 8 },
      marker: { color, size: 12, symbol: 'square', line: { color: '#000000', width: 1 } },
      meta: { arm, mean: clean(ci.mean), lower: clean(ci.lower), upper: clean(ci.upper), n: ci.n, level },
      hovertemplate: withCi
        ? `${arm} mean %{y:.3f}%<br>${levelText} [${fmt(ci.lower, 3)}, ${fmt(ci.upper, 3)}]<extra>n=${ci.n}</extra>`
        : `${arm} mean %{y:.3f}%<br>no ${levelText} from ${ci.n} run<extra>n=${ci.n}</extra>`,
    });
    const orig = opts.originalStudy === false ? undefined : opts.originalStudy ? opts.originalStudy[arm] : originalStudyErrorForArm(arm, usable);
    if (orig !== undefined) original.push({ i, arm, error: orig });
  });
  const paperLine = opts.paperError === undefined ? PAPER_ERROR_PCT : opts.paperError;
  if (original.length > 0) {
    data.push({
      type: 'scatter',
      mode: 'markers+text',
      name: 'original study (fastai, 2018), mean',
      x: original.map((o) => o.i + 0.25),
      y: original.map((o) => o.error),
      text: original.map((o) => `${o.error.toFixed(2)}%`),
      // above the diamond when it lies above the paper's line, below it otherwise: never on the line
      textposition: original.map((o) => (paperLine !== null && o.error < paperLine ? 'bottom right' : 'top right')),
      marker: { symbol: 'diamond-open', size: 14, color: '#000000', line: { width: 2, color: '#000000' } },
      meta: { arms: original.map((o) => o.arm) },
      hovertemplate: 'original study: %{y:.2f}%<extra></extra>',
    });
  }
  const paper = paperLine;
  drawnY.push(...original.map((o) => o.error), ...(paper !== null ? [paper] : []));
  if (paper !== null) {
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `ResNet paper (He et al. 2016): ${fmt(paper)}%`,
      x: [-0.5, Math.max(arms.length, 1) - 0.5],
      y: [paper, paper],
      line: { color: '#444444', width: 1.5, dash: 'dash' },
      hoverinfo: 'skip',
    });
  }
  const layout: Record<string, unknown> = {
    title: {
      text: opts.title ?? 'Final test error of ResNet-20 on CIFAR-10',
      // Only what is drawn: no "diamonds" without original-study markers, no "dashed" without the paper line.
      subtitle: {
        text: [
          'points: runs',
          anyCi ? `squares: mean ± ${levelText}` : 'squares: mean (one run: no CI)',
          original.length > 0 ? `diamonds: original study (${original.map((o) => o.arm).join(', ')})` : null,
          paper !== null ? `dashed: ResNet paper (${fmt(paper)}%)` : null,
        ].filter((x): x is string => x !== null).join('; '),
      },
    },
    xaxis: {
      title: { text: 'learning-rate schedule (arm)' },
      tickmode: 'array',
      tickvals: arms.map((_, i) => i),
      ticktext: arms,
      range: [-0.6, Math.max(arms.length, 1) - 0.4],
      zeroline: false,
    },
    yaxis: { title: { text: 'test error (%)' }, ...yRangeWithLabelRoom(drawnY) },
    template: 'plotly_white',
    legend: { orientation: 'v', tracegroupgap: 6 },
  };
  if (opts.width) layout.width = opts.width;
  if (opts.height) layout.height = opts.height;
  return { data, layout };
}

/**
 * The y range over every drawn value (%), padded by a fifth of its span (at least 0.05 pp) on each
 * side: room for the original study's labels, which Plotly's autorange ignores (they sit above or
 * below their diamond, one line of text high). Empty or non-finite input: no range (autorange).
 */
function yRangeWithLabelRoom(ys: readonly number[]): { range?: [number, number] } {
  const finite = ys.filter((y) => Number.isFinite(y));
  if (finite.length === 0) return {};
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = Math.max(0.2 * (hi - lo), 0.05);
  return { range: [clean(lo - pad), clean(hi + pad)] };
}
