import type { EpochRecord, RunRecord } from '../../store/types';
import { boxStats, targetPercent, timeToTargetPoints, type TimeToTargetMetric } from '../model';
import { armColors, orderArms, withAlpha } from './colors';
import type { CommonFigureOptions, PlotlyFigure, PlotlyTrace } from './types';
import { clean, jitterFor } from './util';

/** Fewest values an arm's box is drawn for: with fewer, quartiles say nothing the points do not, so the points stand alone. */
export const MIN_BOX_RUNS = 5;

export { timeToTargetPoints, type TimeToTargetData, type TimeToTargetMetric, type TimeToTargetPoint } from '../model';

export interface TimeToTargetFigureOptions extends CommonFigureOptions {
  metric?: TimeToTargetMetric;
  /** Epoch records, needed only to place censored runs on the seconds axis (their last trainSeconds). */
  epochs?: readonly EpochRecord[];
  /** Target accuracy (fraction) for titles; defaults to the runs' common `target`. */
  target?: number | null;
  /**
   * Whether the box statistics include censored runs at their censoring time (default false: boxes
   * over the runs that reached the target only). A censoring time is a lower bound, not a measured
   * time, so including it mixes the two (e.g. a box median of 4.5 epochs where the Kaplan–Meier
   * median is 3); the censored runs are drawn as open markers either way.
   */
  boxIncludesCensored?: boolean;
  /** Total jitter width of the points in arm-position units (default 0.3). */
  jitter?: number;
  /** Fewest box values for an arm's box (default {@link MIN_BOX_RUNS}); arms with fewer show points only. */
  minBoxRuns?: number;
}

/**
 * Time to the validation-accuracy target per arm: a box (type-7 quartiles, Tukey whiskers,
 * precomputed so the data are explicit) over the runs that reached the target (unless
 * `boxIncludesCensored`) when there are at least {@link MIN_BOX_RUNS} of them (points only
 * otherwise, and the subtitle says so), and every run as a jittered point. Runs that reached the target are
 * filled circles; right-censored runs are open triangles at their censoring time, with a legend
 * entry saying they are lower bounds; the subtitle says how many censored runs are plotted as lower
 * bounds. An arm whose runs are all censored has no box (the subtitle names it); when no run at all
 * reached the target there is no box and the title says so. Arms are at x = 0, 1, 2, ... (tick labels = arm names).
 *
 * Traces per arm: box `"<arm>"` (x = [i], q1/median/q3/lowerfence/upperfence/mean arrays,
 * `meta` = { arm, n, includesCensored }), then, each only when there are any, `"<arm>: reached target"`
 * points and `"<arm>: censored ..."` points.
 * Each point trace has `customdata` = runIds. Excluded runs (running/failed/diverged) are listed in
 * an annotation.
 */
export function timeToTargetFigure(runs: readonly RunRecord[], opts: TimeToTargetFigureOptions = {}): PlotlyFigure {
  const metric: TimeToTargetMetric = opts.metric ?? 'epochs';
  const { points, excluded } = timeToTargetPoints(runs, metric, opts.epochs);
  const arms = orderArms(runs.map((r) => r.arm), opts.arms);
  const colors = armColors(arms, opts.colors);
  const jitterWidth = opts.jitter ?? 0.3;
  const targets = [...new Set(runs.map((r) => r.target).filter((t): t is number => t != null))];
  const target = opts.target !== undefined ? opts.target : targets.length === 1 ? targets[0] : null;
  const targetText = target != null ? targetPercent(target) : 'target';
  const unit = metric === 'epochs' ? 'epochs' : 'training seconds';
  const data: PlotlyTrace[] = [];
  const includeCensored = opts.boxIncludesCensored ?? false;
  const noBox: string[] = [];
  const fewBox: string[] = [];
  const minBox = Math.max(1, opts.minBoxRuns ?? MIN_BOX_RUNS);

  arms.forEach((arm, i) => {
    const color = colors[arm];
    const armPoints = points.filter((p) => p.arm === arm);
    const reached = armPoints.filter((p) => p.reached);
    const censored = armPoints.filter((p) => !p.reached);
    const boxValues = (includeCensored ? armPoints : reached).map((p) => p.time);
    if (boxValues.length === 0 && armPoints.length > 0) noBox.push(arm);
    else if (boxValues.length > 0 && boxValues.length < minBox) fewBox.push(arm);
    if (boxValues.length >= minBox) {
      const s = boxStats(boxValues);
      data.push({
        type: 'box',
        name: arm,
        legendgroup: arm,
        x: [i],
        q1: [clean(s.q1)],
        median: [clean(s.median)],
        q3: [clean(s.q3)],
        lowerfence: [clean(s.lowerfence)],
        upperfence: [clean(s.upperfence)],
        mean: [clean(s.mean)],
        boxpoints: false,
        width: 0.5,
        line: { color },
        fillcolor: withAlpha(color, 0.15),
        showlegend: false,
        hoverinfo: 'y',
        meta: { arm, n: boxValues.length, includesCensored: includeCensored && censored.length > 0 },
      });
    }
    const pointTrace = (ps: typeof armPoints, isCensored: boolean): PlotlyTrace => ({
      type: 'scatter',
      mode: 'markers',
      name: isCensored
        ? `${arm}: censored, never reached ${targetText} (n=${ps.length}; lower bound)`
        : `${arm}: reached ${targetText} (n=${ps.length})`,
      legendgroup: arm,
      x: ps.map((p) => clean(i + jitterFor(p.runId, jitterWidth))),
      y: ps.map((p) => clean(p.time)),
      customdata: ps.map((p) => p.runId),
      marker: isCensored
        ? { color, symbol: 'triangle-up-open', size: 11, line: { width: 2, color } }
        : { color, symbol: 'circle', size: 8, opacity: 0.85, line: { width: 0.5, color: '#ffffff' } },
      hovertemplate: `%{customdata}<br>%{y:.4g} ${unit}${isCensored ? ' (censored)' : ''}<extra>${arm}</extra>`,
      meta: { arm, censored: isCensored },
    });
    if (reached.length > 0) data.push(pointTrace(reached, false));
    if (censored.length > 0) data.push(pointTrace(censored, true));
  });

  const nReached = points.filter((p) => p.reached).length;
  const nCensored = points.length - nReached;
  const where = metric === 'epochs' ? 'the epochs completed' : 'their last training time';
  const censoredText = nCensored === 0
    ? 'no run was censored'
    : `open triangles: ${nCensored} censored run${nCensored === 1 ? '' : 's'} (never reached ${targetText}) plotted as lower bound${nCensored === 1 ? '' : 's'} at ${where}`;
  // Subtitle lines (joined with <br>): what the boxes are, then the censored runs.
  const lines: string[] = [];
  let title = opts.title ?? `Time to ${targetText} validation accuracy (${unit})`;
  if (points.length > 0 && nReached === 0) {
    title += ': no run reached the target';
    lines.push(`no box: all ${points.length} run${points.length === 1 ? '' : 's'} censored`, censoredText);
  } else {
    const boxes = includeCensored && nCensored > 0
      ? 'box: quartiles and 1.5 IQR whiskers over all runs, censoring times counted as if measured (the upper part is a lower bound)'
      : `box: quartiles and 1.5 IQR whiskers of the runs that reached ${targetText} (filled points, ${nReached} in all)`;
    const few = fewBox.length ? `points only for ${fewBox.join(', ')} (fewer than ${minBox} runs)` : '';
    const noBoxes = !data.some((t) => t.type === 'box');
    lines.push(noBoxes ? `filled points: the ${nReached} run${nReached === 1 ? '' : 's'} that reached ${targetText}; no boxes (fewer than ${minBox} runs per arm)` : few ? `${boxes}; ${few}` : boxes);
    lines.push(censoredText + (includeCensored || nCensored === 0 || noBoxes ? '' : ', not in the boxes') +
      (noBox.length ? `; no box for ${noBox.join(', ')} (all ${noBox.length === 1 ? 'its' : 'their'} runs censored)` : ''));
  }
  const subtitle = lines.join('<br>');
  const layout: Record<string, unknown> = {
    title: { text: title, subtitle: { text: subtitle } },
    margin: { t: 70 + 18 * lines.length },
    xaxis: {
      title: { text: 'learning-rate schedule (arm)' },
      tickmode: 'array',
      tickvals: arms.map((_, i) => i),
      ticktext: arms,
      range: [-0.6, arms.length - 0.4],
      zeroline: false,
    },
    yaxis: { title: { text: metric === 'epochs' ? `epochs to ${targetText} validation accuracy` : `training time to ${targetText} (s)` }, rangemode: 'tozero' },
    template: 'plotly_white',
    legend: { orientation: 'v', tracegroupgap: 6 },
  };
  if (excluded.length > 0) {
    const counts = new Map<string, number>();
    for (const e of excluded) counts.set(e.reason, (counts.get(e.reason) ?? 0) + 1);
    layout.annotations = [
      {
        xref: 'paper',
        yref: 'paper',
        x: 1,
        y: 1.02,
        xanchor: 'right',
        yanchor: 'bottom',
        showarrow: false,
        font: { size: 11, color: '#555555' },
        text: `not shown: ${[...counts].map(([reason, n]) => `${n} run${n > 1 ? 's' : ''} (${reason})`).join('; ')}`,
      },
    ];
  }
  if (opts.width) layout.width = opts.width;
  if (opts.height) layout.height = opts.height;
  return { data, layout };
}
